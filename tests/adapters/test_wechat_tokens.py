"""The WeChat access_token and JS-SDK ticket held in the database (storage/token_models.py): two bot
processes (two apps, each with its WeChat channel) on one database, against the fake WeChat API over real
HTTP, fetch ONE token between them, recover from a refused token with ONE refetch, honour the expiry (an
injected clock: no sleeping), and share the ticket the same way. And `serve` on PostgreSQL without
JIEBANG_SECRET says that its links will not open on the other processes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import event

from bot.adapters import registry
from bot.adapters.wechat.api import REFRESH_EARLY, WeChatAPI
from bot.config import Settings
from bot.messages import Reply
from bot.server import serve
from bot.testing import FakeChannel
from tests.adapters.test_wechat_channel import AES_KEY, APP_ID, CUSTOM, TOKEN, WxUser, server
from tests.fakes.wechat_api import FakeWeChatAPI

TICKET = "/cgi-bin/ticket/getticket"


class Proc:
    """One bot process as `serve wechat` makes it: its app, its channel (its own WeChatAPI), its URL."""

    def __init__(self, fake: FakeWeChatAPI, app, channel, url: str, http) -> None:
        self.fake, self.app, self.channel, self.url, self.http = fake, app, channel, url, http
        self.queries: list[dict[str, str]] = []

    @property
    def api(self) -> WeChatAPI:
        return self.channel.api


async def two_processes(stack: AsyncExitStack, tmp_path, database_url: str) -> tuple[FakeWeChatAPI, Proc, Proc]:
    import aiohttp

    fake = await stack.enter_async_context(FakeWeChatAPI())
    http = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)))
    procs = []
    for name in ("a", "b"):  # a data folder each, one database, one secret
        settings = Settings(data_dir=tmp_path / name, database_url=database_url, secret="link-secret", pdf=False,
                            wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret="appsecret",
                            wechat_encoding_aes_key=AES_KEY, wechat_api_base_url=fake.url)
        app, channel, url = await stack.enter_async_context(server(settings))
        procs.append(Proc(fake, app, channel, url, http))
    return fake, procs[0], procs[1]


def token_statements(proc: Proc) -> list[str]:
    """Every SQL statement of the process that reads or writes `wechat_tokens`, from now on."""
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args) -> None:
        if "wechat_tokens" in statement:
            seen.append(statement)

    event.listen(proc.app.store.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_two_processes_fetch_one_token_and_one_again_after_it_is_refused(tmp_path, database_url):
    async with AsyncExitStack() as stack:
        fake, a, b = await two_processes(stack, tmp_path, database_url)
        users = [WxUser(a, f"oUser{i}") for i in range(4)]
        for u in users:
            await u.event("subscribe")  # opens the short customer-service window (3 within a minute)
        # both processes send at once, each with its own WeChatAPI
        sent = await asyncio.gather(*(p.channel.send(u.openid, [Reply(f"你好 {i}")])
                                      for i, u in enumerate(users) for p in (a, b)))
        sent += await asyncio.gather(*(p.api.custom_send_text(f"o{i}", "hi") for i in range(5) for p in (a, b)))
        assert all(sent)
        assert len(fake.token_fetches) == 1  # one between the two processes
        assert a.api.token_fetches + b.api.token_fetches == 1
        assert len(fake.calls_of(CUSTOM)) == 18 and not [c for c in fake.calls if c.errcode]

        reads = token_statements(a) + token_statements(b)
        await asyncio.gather(*(p.api.custom_send_text(f"q{i}", "hi") for i in range(5) for p in (a, b)))
        assert reads == []  # the in-process cache: no database read per call while the token is valid

        fake.expire_tokens()  # WeChat refuses the token (40001) in both processes at once
        await asyncio.gather(*(p.api.custom_send_text(f"p{i}", "hi") for i in range(5) for p in (a, b)))
        assert len(fake.token_fetches) == 2  # ONE refetch: the other process found it in the row
        assert len(fake.calls_of(CUSTOM)) == 18 + 10 + 10
        assert [c.errcode for c in fake.calls_of(CUSTOM, ok_only=False)].count(40001) == 10
        # a third process starting now finds the token and fetches none
        third = WeChatAPI(fake.url, "oa", APP_ID, "appsecret", store=a.app.store)
        try:
            await third.custom_send_text("o9", "hi")
        finally:
            await third.close()
        assert len(fake.token_fetches) == 2 and third.token_fetches == 0


async def test_the_expiry_is_honoured_across_processes(tmp_path, database_url):
    async with AsyncExitStack() as stack:
        fake, a, b = await two_processes(stack, tmp_path, database_url)
        now = [time.time()]
        a.api.clock = b.api.clock = lambda: now[0]
        start = now[0]
        await asyncio.gather(a.api.custom_send_text("o1", "x"), b.api.custom_send_text("o2", "x"))
        assert len(fake.token_fetches) == 1
        now[0] = start + 7200 - REFRESH_EARLY - 1  # still usable (refreshed 5 minutes early)
        await asyncio.gather(a.api.custom_send_text("o1", "y"), b.api.custom_send_text("o2", "y"))
        assert len(fake.token_fetches) == 1
        now[0] = start + 7200 - REFRESH_EARLY + 1  # within the margin: one of them fetches, the other reads it
        await asyncio.gather(*(p.api.custom_send_text(f"o{i}", "z") for i in range(3) for p in (a, b)))
        assert len(fake.token_fetches) == 2 and a.api.token_fetches + b.api.token_fetches == 2
        assert not [c for c in fake.calls if c.errcode]
        now[0] = start + 2 * (7200 - REFRESH_EARLY) + 2  # and again, one fetch for both
        await asyncio.gather(a.api.custom_send_text("o1", "w"), b.api.custom_send_text("o2", "w"))
        assert len(fake.token_fetches) == 3


async def test_the_jsapi_ticket_is_shared_likewise(tmp_path, database_url):
    async with AsyncExitStack() as stack:
        fake, a, b = await two_processes(stack, tmp_path, database_url)
        now = [time.time()]
        a.api.clock = b.api.clock = lambda: now[0]
        start = now[0]
        await a.api.custom_send_text("o1", "x")  # the token at `start`
        now[0] = start + 1000  # the ticket 1000 s later, so that it outlives this token
        tickets = await asyncio.gather(*(p.api.jsapi_ticket() for _ in range(3) for p in (a, b)))
        assert set(tickets) == {fake.jsapi_ticket}
        assert len(fake.calls_of(TICKET)) == 1 and a.api.ticket_fetches + b.api.ticket_fetches == 1
        assert len(fake.token_fetches) == 1

        now[0] = start + 7200 - REFRESH_EARLY + 1  # the token is renewed (once), the ticket still usable
        await asyncio.gather(a.api.custom_send_text("o1", "y"), b.api.custom_send_text("o2", "y"))
        assert await a.api.jsapi_ticket() == await b.api.jsapi_ticket() == fake.jsapi_ticket
        assert len(fake.token_fetches) == 2 and len(fake.calls_of(TICKET)) == 1

        now[0] = start + 1000 + 7200 - REFRESH_EARLY + 1  # the ticket is due, and WeChat refuses the token
        fake.expire_tokens()
        tickets = await asyncio.gather(a.api.jsapi_ticket(), b.api.jsapi_ticket())
        assert set(tickets) == {fake.jsapi_ticket}
        assert len(fake.token_fetches) == 3  # one refetch of the refused token between the two
        assert len(fake.calls_of(TICKET)) == 2  # and one ticket
        assert {c.errcode for c in fake.calls_of(TICKET, ok_only=False)} == {0, 40001}


class Away:
    """A store whose database does not answer."""

    dialect = "postgresql"

    def sessions(self):
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


async def test_the_database_away_the_process_fetches_for_itself_and_says_so_once(caplog):
    caplog.set_level(logging.INFO, logger="bot.adapters.wechat.api")
    async with FakeWeChatAPI() as fake:
        now = [time.time()]
        api = WeChatAPI(fake.url, "oa", APP_ID, "appsecret", store=Away(), clock=lambda: now[0])
        try:
            await asyncio.gather(*(api.custom_send_text(f"o{i}", "hi") for i in range(5)))
            assert len(fake.token_fetches) == 1 and len(fake.calls_of(CUSTOM)) == 5
            fake.expire_tokens()
            await api.custom_send_text("o1", "again")
            now[0] += 7200
            await api.custom_send_text("o1", "later")
            assert len(fake.token_fetches) == 3 and len(fake.calls_of(CUSTOM)) == 7
        finally:
            await api.close()
    away = [r for r in caplog.records if "database is away" in r.getMessage()]
    assert len(away) == 1 and away[0].levelno == logging.WARNING and away[0].exc_info is None
    assert "ConnectionRefusedError" in away[0].getMessage()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def quiet():
    registry.register("quiet", lambda app, **_options: FakeChannel(app, name="quiet"))
    yield
    registry.unregister("quiet")


@pytest.mark.parametrize("secret", ["", "one-secret-for-every-process"])
async def test_serve_warns_of_a_secret_of_its_own_where_processes_share_a_database(
        tmp_path, database_url, quiet, caplog, secret):
    caplog.set_level(logging.INFO, logger="bot.server")
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, secret=secret, pdf=False,
                        port=_free_port())
    stop = asyncio.Event()
    stop.set()  # start, then stop at once
    assert await serve(dataclasses.replace(settings), ["quiet"], stop=stop) == 0
    warned = [r for r in caplog.records if "JIEBANG_SECRET is not set" in r.getMessage()]
    if secret or database_url.startswith("sqlite"):
        assert warned == []
    else:
        assert len(warned) == 1 and warned[0].levelno == logging.WARNING
        assert warned[0].getMessage() == (
            f"JIEBANG_SECRET is not set: this process made its own in {tmp_path / 'data'}; links it makes "
            "will not open on other serve processes — set the same JIEBANG_SECRET everywhere")


async def test_on_sqlite_answers_are_not_held_up_while_the_token_is_fetched(sqlite_app):
    """SQLite's one lock is its one writer's: the fetch (WeChat's HTTP call, up to the API's timeout) runs
    under a lease row, not in a write transaction, so a firm's answer is accepted and kept meanwhile."""
    from bot.testing import ChatClient
    from storage import token_models
    from tests.test_conversation import start_form

    store = sqlite_app.store
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_fetch():
        started.set()
        await release.wait()  # WeChat slow to answer
        return "TOKEN-1", 7200.0

    fetching = asyncio.create_task(token_models.refresh(store, "oa:access_token", APP_ID, time.time, REFRESH_EARLY,
                                                        slow_fetch))
    second = asyncio.create_task(token_models.refresh(store, "oa:access_token", APP_ID, time.time, REFRESH_EARLY,
                                                      slow_fetch))  # another caller: waits for the first's token
    try:
        await started.wait()
        c = ChatClient(sqlite_app.engine)

        async def answer() -> None:
            await start_form(c)
            await c.send("上海测试科技有限公司")

        await asyncio.wait_for(answer(), 20)  # a bound only so that the old way fails instead of hanging
        assert c.step == "credit_code" and not fetching.done()  # accepted, committed, the fetch still out
    finally:
        release.set()
    first, other = await fetching, await second
    assert first.fetched and first.token == "TOKEN-1"
    assert not other.fetched and other.token == "TOKEN-1"  # one fetch between the two
    assert (await token_models.read(store, "oa:access_token", APP_ID)).token == "TOKEN-1"
    assert await token_models.read(store, "oa:access_token" + token_models.LEASE, APP_ID) is None  # dropped


async def test_on_sqlite_a_lease_whose_holder_died_is_taken_over(sqlite_app):
    from storage import token_models

    store = sqlite_app.store
    fetches = []

    async def fetch():
        fetches.append(1)
        return "TOKEN-2", 7200.0

    clock = [1_800_000_000.0]
    async with store.sessions() as session, session.begin():  # a process died while fetching, a minute ago
        await session.execute(token_models._upsert(store, "oa:access_token" + token_models.LEASE, APP_ID, "dead",
                                                   clock[0] - 60, clock[0] - 60 + token_models.LEASE_S))
    held = await token_models.refresh(store, "oa:access_token", APP_ID, lambda: clock[0], REFRESH_EARLY, fetch)
    assert held.fetched and held.token == "TOKEN-2" and fetches == [1]

    async def failing():
        raise OSError("WeChat unreachable")

    with pytest.raises(OSError):  # a fetch that fails leaves no lease behind: the next caller tries at once
        await token_models.refresh(store, "oa:access_token", APP_ID, lambda: clock[0], REFRESH_EARLY, failing,
                                   stale="TOKEN-2")
    assert await token_models.read(store, "oa:access_token" + token_models.LEASE, APP_ID) is None
