"""Channels by name: the registry makes each from its own module, imported only when named."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from bot.adapters import registry
from bot.adapters.base import Channel, MenuInstaller, WebRoutes
from bot.testing import FakeChannel

ROOT = Path(__file__).resolve().parents[2]


def test_the_served_channels_and_the_terminal():
    assert registry.names(served=True) == ["telegram", "wechat", "wecom"]
    assert "console" in registry.names() and not registry.spec("console").served
    assert all(registry.spec(n).summary for n in registry.names())  # each says what it needs in `serve --help`


def test_an_unknown_channel_names_the_known_ones():
    with pytest.raises(registry.UnknownChannel, match="telegram") as e:
        registry.create("whatsapp", types.SimpleNamespace())
    assert isinstance(e.value, ValueError)


def test_the_terminal_chat_never_imports_a_platform_library():
    script = ("import sys, types\n"
              "from bot.adapters import registry\n"
              "import bot.__main__\n"
              "bot.__main__.build_parser().parse_args([])\n"
              "ch = registry.create('console', types.SimpleNamespace(engine=None))\n"
              "print(ch.name, sorted(m for m in ('aiogram', 'bot.adapters.telegram', 'bot.adapters.wechat')"
              " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["console", "[]"]


def test_a_registered_channel_is_made_like_any_other_and_its_capabilities_are_protocols():
    registry.register("fake", "bot.testing:FakeChannel", served=False)
    try:
        app = types.SimpleNamespace(engine=object())
        ch = registry.create("fake", app, refuse=True)
        assert isinstance(ch, FakeChannel) and isinstance(ch, Channel) and ch.refuse
        assert not isinstance(ch, WebRoutes) and not isinstance(ch, MenuInstaller)
    finally:
        registry.unregister("fake")
    assert "fake" not in registry.names()


def test_a_factory_must_make_a_channel_under_its_own_name():
    registry.register("odd", lambda app: object())
    registry.register("misnamed", lambda app: FakeChannel(engine=object(), name="other"))
    try:
        with pytest.raises(TypeError, match="not a Channel"):
            registry.create("odd", None)
        with pytest.raises(TypeError, match="named 'other'"):
            registry.create("misnamed", None)
    finally:
        registry.unregister("odd")
        registry.unregister("misnamed")
