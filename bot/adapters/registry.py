"""Channels by name: `python -m bot serve telegram wechat` makes each through this table.

    channel = registry.create("telegram", app)     # imports bot.adapters.telegram only now
    registry.names(served=True)                    # ["telegram", "wechat", "wecom"]
    registry.register("fake", "bot.testing:FakeChannel", served=False)   # tests

A factory is named as "module:attribute" and imported on first use, so the terminal default never
loads a platform library (aiogram). It is called with the `App` and the spec's options (plus any
the caller gives) and must return a `Channel` whose `name` is the one it was made under.
Adding a channel: its own module, and one line in `_SPECS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.adapters.base import Channel

if TYPE_CHECKING:
    from bot.app import App

ChannelFactory = Callable[..., Channel]


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    target: str | ChannelFactory  # "module:attribute" (imported when first made) or the factory itself
    summary: str = ""  # one line for `serve --help`: what it is and the settings it needs
    served: bool = True  # False: not for `serve` (the terminal runs in the foreground: `python -m bot`)
    options: Mapping[str, Any] = field(default_factory=dict)

    def factory(self) -> ChannelFactory:
        if not isinstance(self.target, str):
            return self.target
        module, _, attr = self.target.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


_SPECS: dict[str, ChannelSpec] = {spec.name: spec for spec in (
    ChannelSpec("console", "bot.adapters.console:ConsoleChannel.for_app", "the terminal (python -m bot)", served=False),
    ChannelSpec("telegram", "bot.adapters.telegram:TelegramChannel", "Telegram (TELEGRAM_TOKEN)"),
    ChannelSpec("wechat", "bot.adapters.wechat:WeChatChannel", "WeChat Official Account (WECHAT_TOKEN, …)",
                options={"kind": "oa"}),
    ChannelSpec("wecom", "bot.adapters.wechat:WeChatChannel", "WeCom 企业微信 (WECOM_CORP_ID, …)",
                options={"kind": "wecom"}),
)}


class UnknownChannel(ValueError):
    pass


def register(name: str, target: str | ChannelFactory, *, summary: str = "", served: bool = True,
             **options: Any) -> None:
    """Add (or replace) a channel under `name`."""
    _SPECS[name] = ChannelSpec(name, target, summary, served, options)


def unregister(name: str) -> None:
    _SPECS.pop(name, None)


def names(*, served: bool = False) -> list[str]:
    """Registered channel names; `served`: only those `serve` runs."""
    return [n for n, spec in _SPECS.items() if spec.served or not served]


def spec(name: str) -> ChannelSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise UnknownChannel(f"no channel {name!r}; the channels are: {', '.join(names())}") from None


def create(name: str, app: App, **options: Any) -> Channel:
    """Make the channel `name` for `app`. ValueError: unknown, or its settings are missing."""
    s = spec(name)
    channel = s.factory()(app, **{**s.options, **options})
    if not isinstance(channel, Channel):
        raise TypeError(f"the factory of channel {name!r} made {channel!r}, which is not a Channel")
    if channel.name != name:
        raise TypeError(f"the factory of channel {name!r} made a channel named {channel.name!r}")
    return channel
