"""`wechat_tokens`: the WeChat credentials every process of one database shares, one row per (kind, app id).

WeChat's access_token (and the JS-SDK jsapi ticket) is valid 7200 s, may be fetched 2000 times a day, and
a new one retires the previous one after about 5 minutes; WeChat asks for ONE central holder. Each `serve`
process used to fetch and cache its own: N processes retired each other's tokens and used up the day's
fetches. Here the database is that holder:

- `read` is a plain read (no lock): a process that finds a token still valid uses it.
- `refresh` fetches a new one with the row locked, so one process at a time fetches: on PostgreSQL a
  transaction-scoped advisory lock on (LOCK_SPACE, a hash of kind and app id) (the row may not exist yet,
  so not FOR UPDATE), which holds up no other writer; on SQLite, whose one lock is the one writer's, a
  lease row taken in a short transaction (`_refresh_leased`), so answers are not held up by the fetch. After the lock it reads the
  row again: another process may just have fetched, and then its token is used. `stale` is a token WeChat
  refused: it is replaced only while the row still holds it (compare-and-set), so N processes refused at
  once cause one fetch; the others find the new one.

The fetch (one HTTP request, bounded by the API's timeout) runs while the lock or the lease is held:
exactly while one process fetches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Text, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col

from storage.models import utcnow
from storage.tables import table_of
from storage.times import aware


class WeChatToken(SQLModel, table=True):
    __tablename__ = "wechat_tokens"

    kind: str = Field(primary_key=True, max_length=32)  # "oa:access_token", "wecom:access_token", "oa:jsapi_ticket"
    app_id: str = Field(primary_key=True, max_length=64)  # the Official Account's appid, or WeCom's corpid
    token: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))  # as WeChat said (fetched_at + expires_in)
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


TOKENS = table_of(WeChatToken)
# SQLite: the lease a process holds while it fetches (a row of kind + LEASE); taken over after LEASE_S (more
# than the API's timeout: its holder died); the others look for the token every LEASE_POLL_S meanwhile
LEASE = "#fetching"
LEASE_S = 30.0
LEASE_POLL_S = 0.05
# The advisory locks' first key (the two-key form: apart from the one-key locks, e.g. storage/migrate.py's)
LOCK_SPACE = 4674012


@dataclass(frozen=True)
class Held:
    token: str
    expires_at: float  # epoch seconds
    fetched_at: float
    fetched: bool = False  # True: this call fetched it (else another process had)

    def usable_until(self, margin: float) -> float:
        """Until when to use it: `margin` before its expiry, but at least a minute after it was fetched."""
        return max(self.fetched_at + 60.0, self.expires_at - margin)


def _held(row: Any) -> Held:
    return Held(row.token, aware(row.expires_at).timestamp(), aware(row.fetched_at).timestamp())


def _row(kind: str, app_id: str) -> Any:
    return select(WeChatToken).where(col(WeChatToken.kind) == kind, col(WeChatToken.app_id) == app_id)


async def read(store: Any, kind: str, app_id: str) -> Held | None:
    async with store.sessions() as session:
        row = (await session.execute(_row(kind, app_id))).scalar_one_or_none()
        return _held(row) if row is not None else None


async def refresh(store: Any, kind: str, app_id: str, now: Callable[[], float], margin: float,
                  fetch: Callable[[], Awaitable[tuple[str, float]]], stale: str | None = None) -> Held:
    """The row's token when it is usable and not `stale`; else `fetch()` (→ token, expires_in seconds)
    under the lock, stored, and returned with `fetched=True`."""
    if store.dialect != "postgresql":
        return await _refresh_leased(store, kind, app_id, now, margin, fetch, stale)
    async with store.sessions() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                              {"space": LOCK_SPACE, "key": f"{kind}:{app_id}"})
        row = (await session.execute(_row(kind, app_id))).scalar_one_or_none()
        if row is not None:
            held = _held(row)
            if held.token != stale and now() < held.usable_until(margin):
                return held  # another process fetched while this one waited for the lock
        token, expires_in = await fetch()
        fetched_at = now()
        await session.execute(_upsert(store, kind, app_id, token, fetched_at, fetched_at + expires_in))
        return Held(token, fetched_at + expires_in, fetched_at, fetched=True)


def _upsert(store: Any, kind: str, app_id: str, token: str, fetched_at: float, expires_at: float) -> Any:
    values = {"token": token, "fetched_at": datetime.fromtimestamp(fetched_at, UTC),
              "expires_at": datetime.fromtimestamp(expires_at, UTC)}
    stmt = (pg_insert if store.dialect == "postgresql" else sqlite_insert)(TOKENS).values(kind=kind, app_id=app_id, **values)
    return stmt.on_conflict_do_update(index_elements=["kind", "app_id"], set_=values)


async def _refresh_leased(store: Any, kind: str, app_id: str, now: Callable[[], float], margin: float,
                          fetch: Callable[[], Awaitable[tuple[str, float]]], stale: str | None) -> Held:
    """`refresh` on SQLite, whose only lock is the database's one writer: held across WeChat's HTTP call it
    made every answer wait for it (up to the API's timeout). Instead a process takes a lease, a row of its
    own (`kind` + LEASE, its holder in `token`), in a short transaction, fetches with no lock held, stores
    the token and drops the lease; another process finding the lease taken looks again every LEASE_POLL_S
    until the token is there, or takes the lease over once it is LEASE_S old (its holder died)."""
    me = uuid.uuid4().hex
    lease = kind + LEASE
    waited_since = time.monotonic()
    while True:
        async with store.sessions() as session, session.begin():
            row = (await session.execute(_row(kind, app_id))).scalar_one_or_none()
            if row is not None:
                held = _held(row)
                if held.token != stale and now() < held.usable_until(margin):
                    return held  # fetched by the lease's holder meanwhile, or never needed
            taken = (await session.execute(_row(lease, app_id))).scalar_one_or_none()
            free = (taken is None or now() - aware(taken.fetched_at).timestamp() > LEASE_S  # its holder died
                    or time.monotonic() - waited_since > LEASE_S)  # (a clock that stands still, in tests)
            if free:
                await session.execute(_upsert(store, lease, app_id, me, now(), now() + LEASE_S))
        if free:
            break
        await asyncio.sleep(LEASE_POLL_S)
    try:
        token, expires_in = await fetch()
    except BaseException:
        with contextlib.suppress(Exception):
            await _drop_lease(store, lease, app_id, me)  # the next caller tries at once
        raise
    fetched_at = now()
    async with store.sessions() as session, session.begin():
        await session.execute(_upsert(store, kind, app_id, token, fetched_at, fetched_at + expires_in))
        await session.execute(_lease_of(lease, app_id, me))
    return Held(token, fetched_at + expires_in, fetched_at, fetched=True)


def _lease_of(lease: str, app_id: str, me: str) -> Any:
    """Drop this caller's lease (not one another process took over meanwhile)."""
    return delete(WeChatToken).where(col(WeChatToken.kind) == lease, col(WeChatToken.app_id) == app_id,
                                     col(WeChatToken.token) == me)


async def _drop_lease(store: Any, lease: str, app_id: str, me: str) -> None:
    async with store.sessions() as session, session.begin():
        await session.execute(_lease_of(lease, app_id, me))
