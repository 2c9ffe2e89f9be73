"""Campaign fixtures: a migrated database per test (SQLite file; PostgreSQL when JIEBANG_TEST_POSTGRES_URL
is set — a new database each test), a movable clock, a channel that records what it was asked to send."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from campaign_helpers import Clock, RecordingChannel

from storage.migrate import upgrade
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


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # "today" in the brief: 10:00 in Shanghai


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()
