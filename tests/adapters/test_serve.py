"""`python -m bot serve CHANNEL …`: channels by name, their routes on one web server, optional capabilities."""

from __future__ import annotations

import asyncio
import logging
import socket

import aiohttp
import pytest
from aiohttp import web

from bot.__main__ import build_parser
from bot.adapters import registry
from bot.config import Settings
from bot.server import serve
from bot.testing import FakeChannel


class RoutedFake(FakeChannel):
    """A fake channel reached over HTTP and with a menu: both optional capabilities."""

    def __init__(self, app, **options) -> None:
        super().__init__(app, **options)
        self.menus = 0

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_get("/routed", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        replies = await self.receive(request.query["user"], request.query["text"])
        return web.Response(text=replies[-1].text)

    async def install_menu(self) -> dict:
        self.menus += 1
        return {"errcode": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def made():
    channels: list[FakeChannel] = []

    def factory(cls, name):
        def make(app, **options):
            ch = cls(app, name=name, **options)
            channels.append(ch)
            return ch
        return make

    registry.register("routed", factory(RoutedFake, "routed"))
    registry.register("plain", factory(FakeChannel, "plain"))
    yield channels
    registry.unregister("routed")
    registry.unregister("plain")


async def test_serve_runs_the_named_channels_with_their_routes_and_menus_on_one_server(tmp_path, made, caplog):
    settings = Settings(data_dir=tmp_path, port=_free_port(), pdf=False)
    base = f"http://127.0.0.1:{settings.port}"
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, ["routed", "plain", "routed"], install_menu=True, stop=stop))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with asyncio.timeout(60):
            while not (made and all(ch.running for ch in made)):
                assert not server.done(), server.result()
                await asyncio.sleep(0.05)
        routed, plain = made
        assert (routed.name, plain.name) == ("routed", "plain")  # each named once, in order
        async with http.get(f"{base}/healthz") as r:
            assert await r.text() == "ok"
        async with http.get(f"{base}/routed", params={"user": "u1", "text": "/start"}) as r:
            assert r.status == 200 and "揭榜助手" in await r.text()  # its route, mounted because it has one
        async with http.get(f"{base}/files/链接") as r:
            assert r.status == 403  # the signed downloads are always there
        assert routed.menus == 1  # a MenuInstaller; the plain one has no menu and is not asked
    stop.set()
    assert await server == 0
    assert not routed.running and not plain.running


async def test_serve_without_a_needed_setting_says_so_in_one_line(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    assert await serve(Settings(data_dir=tmp_path), ["wechat"]) == 2  # WECHAT_TOKEN missing
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "WECHAT_TOKEN" in errors[0].getMessage() and errors[0].exc_info is None
    assert await serve(Settings(data_dir=tmp_path), []) == 2
    assert await serve(Settings(data_dir=tmp_path), ["console"]) == 2


def test_serve_takes_channel_names_and_the_old_flags_still_work():
    args = build_parser().parse_args(["serve", "telegram", "wecom"])
    assert args.channels == ["telegram", "wecom"] and not args.channel_flags
    args = build_parser().parse_args(["serve", "--telegram", "--wechat", "--install-menu"])
    assert args.channels == [] and args.channel_flags == ["telegram", "wechat"] and args.install_menu
    for wrong in (["serve", "console"], ["serve", "whatsapp"]):
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(wrong)
        assert e.value.code == 2


class SlowFake(RoutedFake):
    """A channel whose callbacks wait until the test lets them go: a request in hand when SIGTERM comes."""

    def __init__(self, app, **options) -> None:
        super().__init__(app, **options)
        self.inside = asyncio.Event()
        self.go = asyncio.Event()

    async def _hook(self, request: web.Request) -> web.Response:
        self.inside.set()
        await self.go.wait()
        return await super()._hook(request)

    async def send(self, user_id, replies) -> bool:
        if not self.running:  # a real channel's connection to its platform is closed once it stopped
            self.refused.extend((user_id, r) for r in replies)
            return False
        return await super().send(user_id, replies)


async def test_a_stop_answers_the_requests_it_took_and_takes_no_new_ones(tmp_path):
    """SIGTERM (the stop event): /readyz says draining, the port closes, and the callback already taken
    gets its answer and its message is kept; serve ends with 0."""
    made: list[SlowFake] = []
    registry.register("slow", lambda app, **o: made.append(SlowFake(app, name="slow", **o)) or made[-1])
    try:
        settings = Settings(data_dir=tmp_path, port=_free_port(), pdf=False)
        base = f"http://127.0.0.1:{settings.port}"
        stop = asyncio.Event()
        server = asyncio.create_task(serve(settings, ["slow"], stop=stop))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as http:
            async with asyncio.timeout(60):
                while not (made and made[0].running):
                    assert not server.done(), server.result()
                    await asyncio.sleep(0.05)
            [slow] = made
            taken = asyncio.create_task(http.get(f"{base}/routed", params={"user": "u1", "text": "/start"}))
            await asyncio.wait_for(slow.inside.wait(), 60)  # the request is in hand
            stop.set()
            async with asyncio.timeout(60):  # the port no longer takes connections
                while True:
                    try:
                        _reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
                    except OSError:
                        break
                    writer.close()
                    await asyncio.sleep(0.05)
            assert not taken.done()  # …while the request taken before still waits for its answer
            slow.go.set()
            async with await taken as r:
                assert r.status == 200 and "揭榜助手" in await r.text()
        assert await asyncio.wait_for(server, 90) == 0
        assert slow.replies("u1") and not slow.refused  # answered through the channel while it still ran…
        assert not slow.running  # …and only then was it stopped
    finally:
        registry.unregister("slow")


async def test_readyz_says_draining_once_serve_stops(tmp_path):
    from bot.app import open_app
    from bot.probes import Probes

    app = await open_app(Settings(data_dir=tmp_path, pdf=False))
    try:
        probes = Probes(app)
        ready = await probes.readyz(None)
        assert ready.status == 200
        probes.draining = True
        drained = await probes.readyz(None)
        assert drained.status == 503 and b'"failed": ["serve"]' in drained.body
    finally:
        await app.close()
