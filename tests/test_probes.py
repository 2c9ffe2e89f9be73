"""/healthz, /readyz and /metrics over real HTTP on loopback: what an operator's monitoring sees."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters import registry
from bot.app import App
from bot.config import Settings, SettingsError
from bot.engine import Engine
from bot.probes import add_routes
from bot.server import make_runner, serve
from bot.testing import FakeChannel
from storage.migrate import config, head
from storage.store import Store

OPENID = "oQx9A1b2C3d4E5f6G7h8I9j0K1l2"  # a WeChat-like openid: never in a log line or a metric


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def probed(app: App) -> AsyncIterator[aiohttp.ClientSession]:
    """The app's probe routes on a server of their own on loopback, and a client for it."""
    web_app = web.Application()
    add_routes(web_app, app)
    runner = make_runner(web_app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", timeout=aiohttp.ClientTimeout(total=30)) as http:
            yield http
    finally:
        await runner.cleanup()


# -- /healthz and /readyz -----------------------------------------------------------------------------------

async def test_a_migrated_database_is_ready(app):
    """On PostgreSQL the render jobs' queue is one more check (SQLite has none: it renders in-process)."""
    queued = {"queue": "ok"} if app.store.dialect == "postgresql" else {}
    async with probed(app) as http:
        async with http.get("/healthz") as r:
            assert r.status == 200 and await r.text() == "ok"
        async with http.get("/readyz") as r:
            assert r.status == 200
            assert await r.json() == {"status": "ready",
                                      "checks": {"database": "ok", "migrations": "ok", **queued}}


async def test_an_unreachable_database_is_named_and_its_address_is_not_told(tmp_path):
    port = _free_port()  # nothing listens there
    settings = Settings(data_dir=tmp_path, database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/gone",
                        pdf=False)
    store = Store(settings.database_url)
    app = App(settings=settings, store=store, engine=Engine(store, settings))
    try:
        async with probed(app) as http:
            async with http.get("/healthz") as r:
                assert r.status == 200  # the process is up: a restart would not bring the database back
            async with http.get("/readyz") as r:
                body = await r.json()
                text = await r.text()
            assert r.status == 503 and body["status"] == "unavailable"
            assert "database" in body["failed"] and body["checks"]["database"].startswith("failed: ")
            assert str(port) not in text and "postgres@" not in text
    finally:
        await app.close()


async def test_migrations_behind_the_code_are_named(app):
    current = head()
    behind = ScriptDirectory.from_config(config()).get_revision(current).down_revision
    assert isinstance(behind, str)
    async with app.store.engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{behind}'")
    async with probed(app) as http:
        async with http.get("/readyz") as r:
            body = await r.json()
        assert r.status == 503 and body["failed"] == ["migrations"] and body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"] == f"database at {behind}, code at {current}"
        async with app.store.engine.begin() as conn:
            await conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{current}'")
        async with http.get("/readyz") as r:
            assert r.status == 200


async def test_a_queue_or_other_check_is_one_more_named_check(sqlite_app):
    web_app = web.Application()
    probes = add_routes(web_app, sqlite_app)

    async def queue() -> str | None:
        return "no worker has taken a job for 10 minutes"

    probes.add_check("queue", queue)
    results = await probes.readiness()
    assert results == {"database": "ok", "migrations": "ok", "queue": "no worker has taken a job for 10 minutes"}


# -- /metrics through `serve` ---------------------------------------------------------------------------------

class Routed(FakeChannel):
    """A channel reached over HTTP: GET /say?user=…&text=… is one message through the engine."""

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_get("/say", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        replies = await self.receive(request.query["user"], request.query["text"])
        return web.Response(text=replies[-1].text)


@pytest.fixture
def routed():
    made: list[Routed] = []

    def make(app, **options):
        made.append(Routed(app, name="routed", **options))
        return made[-1]

    registry.register("routed", make)
    yield made
    registry.unregister("routed")


@asynccontextmanager
async def serving(settings: Settings, made: list[Routed]) -> AsyncIterator[aiohttp.ClientSession]:
    """`serve routed` running, and a client of its web server."""
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, ["routed"], stop=stop))
    try:
        async with asyncio.timeout(60):
            while not (made and made[-1].running):
                assert not server.done(), server.result()
                await asyncio.sleep(0.05)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{settings.port}",
                                         timeout=aiohttp.ClientTimeout(total=30)) as http:
            yield http
    finally:
        stop.set()
        assert await server == 0


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition, parsed: (sample name, its labels) → value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_are_not_served_unless_configured(tmp_path, routed):
    settings = Settings(data_dir=tmp_path, port=_free_port(), pdf=False)
    async with serving(settings, routed) as http:
        async with http.get("/metrics") as r:
            assert r.status == 404
        async with http.get("/metrics", headers={"Authorization": "Bearer anything"}) as r:
            assert r.status == 404
        async with http.get("/readyz") as r:
            assert r.status == 200  # the probes are there all the same


async def test_metrics_need_the_token_and_count_each_answer(tmp_path, routed):
    settings = Settings(data_dir=tmp_path, port=_free_port(), pdf=False, metrics_token="a-long-metrics-token")
    async with serving(settings, routed) as http:
        for headers in ({}, {"Authorization": "Bearer a-long-metrics-tokeN"}, {"Authorization": "Bearer "},
                        {"Authorization": "Basic a-long-metrics-token"}):
            async with http.get("/metrics", headers=headers) as r:
                assert r.status == 401, headers
                assert r.headers["WWW-Authenticate"] == "Bearer" and "jiebang" not in await r.text()
        for text in ("/start", "帮助"):
            async with http.get("/say", params={"user": OPENID, "text": text}) as r:
                assert r.status == 200
        async with http.get("/metrics", headers={"Authorization": "Bearer a-long-metrics-token"}) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            exposed = await r.text()
    samples = _samples(exposed)
    routed_label = (("channel", "routed"),)
    assert samples[("jiebang_answers_total", routed_label)] == 2
    assert samples[("jiebang_answer_seconds_count", routed_label)] == 2  # the histogram saw the same two
    assert samples[("jiebang_answer_seconds_bucket", (("channel", "routed"), ("le", "+Inf")))] == 2
    assert OPENID not in exposed and OPENID[:8] not in exposed


async def test_metrics_on_a_port_of_their_own_and_not_on_the_public_one(tmp_path, routed):
    metrics_port = _free_port()
    settings = Settings(data_dir=tmp_path, port=_free_port(), pdf=False, metrics_port=metrics_port)
    async with serving(settings, routed) as http:
        async with http.get("/say", params={"user": OPENID, "text": "/start"}) as r:
            assert r.status == 200
        async with http.get("/metrics") as r:
            assert r.status == 404
        async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
            assert r.status == 200
            samples = _samples(await r.text())
        async with http.get(f"http://127.0.0.1:{metrics_port}/readyz") as r:
            assert r.status == 404  # that site serves the metrics alone
    assert samples[("jiebang_answers_total", (("channel", "routed"),))] == 1


# -- the settings ---------------------------------------------------------------------------------------------

def test_metrics_settings_come_from_the_environment():
    s = Settings.from_env({})
    assert (s.metrics_token, s.metrics_port) == ("", 0)  # nothing served
    s = Settings.from_env({"JIEBANG_METRICS_TOKEN": " t0ken ", "JIEBANG_METRICS_PORT": "9102"})
    assert (s.metrics_token, s.metrics_host, s.metrics_port) == ("t0ken", "127.0.0.1", 9102)
    s = Settings.from_env({"JIEBANG_METRICS_HOST": "10.0.0.5", "JIEBANG_METRICS_PORT": "9102"})
    assert (s.metrics_host, s.metrics_port) == ("10.0.0.5", 9102)


@pytest.mark.parametrize(("env", "said"), [
    ({"JIEBANG_METRICS_PORT": "abc"}, "JIEBANG_METRICS_PORT='abc': a whole number is needed"),
    ({"JIEBANG_METRICS_PORT": "70000"}, "JIEBANG_METRICS_PORT=70000: a port from 1 to 65535"),
    ({"JIEBANG_METRICS_HOST": "0.0.0.0"}, "JIEBANG_METRICS_HOST='0.0.0.0': JIEBANG_METRICS_PORT is needed"),
])
def test_a_bad_setting_is_said_in_one_line(env, said):
    with pytest.raises(SettingsError) as e:
        Settings.from_env(env)
    assert said in str(e.value) and "\n" not in str(e.value)
