"""Campaign fixtures: a migrated database per test (SQLite file; PostgreSQL when JIEBANG_TEST_POSTGRES_URL
is set — a new database each test), a movable clock, a channel that records what it was asked to send."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.messages import Reply
from storage.migrate import upgrade
from storage.models import Submission
from storage.store import Store

PG_URL = os.environ.get("JIEBANG_TEST_POSTGRES_URL", "")
PG_SKIP = "JIEBANG_TEST_POSTGRES_URL is not set (CI sets it; e.g. postgresql+asyncpg://jiebang@127.0.0.1:5432/jiebang_test)"


async def _admin_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fresh_pg():
    name = f"c6_{uuid.uuid4().hex[:12]}"
    await _admin_execute(f'CREATE DATABASE "{name}"')
    return f"{PG_URL.rpartition('/')[0]}/{name}", name


@pytest.fixture
async def pg_url():
    """A new, empty PostgreSQL database for this test (dropped after)."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, name = await _fresh_pg()
    yield url
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request, tmp_path):
    """A fresh database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, name = await _fresh_pg()
    yield url
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def store(db_url):
    s = Store(db_url)
    await upgrade(s.engine)
    yield s
    await s.close()


@pytest.fixture
async def sqlite_store(tmp_path):
    s = Store(f"sqlite+aiosqlite:///{tmp_path / 's.sqlite3'}")
    await upgrade(s.engine)
    yield s
    await s.close()


class Clock:
    """Time that tests move: `clock()` is now; `clock.at("2027-07-15 09:00")` is Shanghai time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, local: str) -> datetime:
        self.now = datetime.fromisoformat(local + "+08:00").astimezone(UTC)
        return self.now

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # "today" in the brief: 10:00 in Shanghai


class RecordingChannel:
    def __init__(self, name: str = "test", ok: bool = True) -> None:
        self.name = name
        self.ok = ok
        self.sent: list[tuple[str, list[Reply]]] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        self.sent.append((user_id, list(replies)))
        return self.ok

    def texts(self, user_id: str | None = None) -> list[str]:
        return [r.text for uid, rs in self.sent if user_id in (None, uid) for r in rs]


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


SH_DRAFT = {"company_name": "上海测试科技有限公司", "reg_province": "上海市", "reg_city": "浦东新区"}


async def add_user(store: Store, external_id: str, forms: Sequence[tuple[str, str, dict]] = (),
                   channel: str = "test", **prefs) -> int:
    """A user with submissions [(form id, status, answers)]; returns the user's id."""
    async with store.user_tx(channel, external_id) as tx:
        if prefs:
            tx.update_prefs(**prefs)
        for form_id, status, answers in forms:
            sub = await tx.new_submission(form_id, dict(answers))
            if status != "draft":
                tx.set_status(sub, status)
        return tx.user.id


async def submissions(store: Store, external_id: str, channel: str = "test") -> list[Submission]:
    async with store.user_tx(channel, external_id) as tx:
        return await tx.submissions()
