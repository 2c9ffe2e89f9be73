"""A channel's own bookkeeping about one user, apart from the user's answers and prefs.

The rows (storage/channel_rows.py, imported from here as well):
- `channel_states`: one row per (channel, user id on it) with typed columns: the customer-service
  windows WeChat opens (which action opened each, when, how many messages were sent in it), a voice
  answer waiting for its confirmation, consent to notifications, and how reminders went out.
- `channel_nonces`: the (timestamp, nonce) pairs of signed callbacks already accepted, so a replayed
  request is refused in every process on one database.
- `channel_arrivals`: one user's messages being handled or waiting, by the sequence their platform gave
  them (WeChat: CreateTime, then MsgId), so several processes apply them in that order; the user's row
  in `channel_states` keeps the last sequence applied (`applied_seq`). See `arrive`.
- The outbox (storage.models.Outbox, the engine's) is read here too, without marking anything
  (`begin_message`): a channel that orders what it sends needs to know which replies waited.

Each function is one short transaction of its own (never the user's whole message transaction), or an
operation in a `GroupCommit`'s, and raises the database's errors as they come (`errors()`): the channel
decides how to retry. On SQLite the statements are SQLAlchemy's; on PostgreSQL the same statements are plain
SQL on the hot path's asyncpg pool (storage/channel_pg.py), as the engine's own are. Rows written by earlier
versions in `users.prefs` (last_msg_at, cs_used, voice_pending, notify, notify_asked, sent_via,
last_sent_via) are read once, when a user's row is first needed, and copied here; prefs stay as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from bot.messages import Reply, reply_from_dict
from storage import channel_pg
from storage.channel_pg import PgTx
from storage.channel_rows import (
    ARRIVALS,
    NONCES,
    STATES,
    VIA,
    Add,
    ChannelArrival,
    ChannelNonce,
    ChannelState,
    as_state,
    decide,
    from_prefs,
    late,
    sequence,
)
from storage.hot import transient_errors
from storage.models import Outbox, User, utcnow

__all__ = ["VIA", "Add", "ChannelArrival", "ChannelNonce", "ChannelState", "Direct", "GroupCommit", "PgTx",
           "arrive", "begin_message", "channel_state", "claim_nonce", "errors", "forget_nonces", "runner",
           "sequence", "settle", "update_state"]


def errors() -> tuple[type[BaseException], ...]:
    """What these calls raise when the database fails them: the errors of a database briefly away, and on
    PostgreSQL any error of its server (a deadlock, a statement cancelled), as SQLAlchemy's DBAPIError
    covers them on SQLite. The channel catches these and retries or goes on without its bookkeeping."""
    found = transient_errors()
    try:
        import asyncpg
    except ImportError:
        return found
    return (*found, asyncpg.PostgresError)


@asynccontextmanager
async def _tx(store: Any, session: Any = None) -> AsyncIterator[Any]:
    """The transaction to work in: the caller's (a GroupCommit's), or one of its own."""
    if session is not None:
        yield session
    elif store.dialect == "postgresql":  # plain SQL on the hot path's pool (storage/channel_pg.py)
        pool = await store.hot.pool()
        async with pool.acquire() as conn, conn.transaction():
            yield PgTx(conn)
    else:
        async with store.sessions() as own, own.begin():
            yield own


class GroupCommit:
    """Many users' small operations in one transaction (`await group.run(op, key)`, `op(session)` a
    coroutine). On SQLite one connection writes at a time and each commit is an fsync: a channel's
    bookkeeping of 200 users at once queued behind itself (1.3 s a nonce, 1.5 s a window, p50) and kept the
    engine's own commits waiting for the lock. On PostgreSQL each transaction costs a pool checkout, BEGIN
    and COMMIT round trips and the session's own CPU: 22.7 ms of the server's CPU a message, where the
    machine's two cores are shared with the database. Operations arriving while a transaction runs go
    into the next one, run in the order of their `key` (the row they lock: "state:<user>", "nonce:…"), so
    two processes' transactions take their row locks in one order and never wait on each other in a
    cycle. When an operation raises, its transaction is undone and each of its operations is run again
    alone, so one fails alone; a database that is away fails them all (their callers retry)."""

    def __init__(self, store: Any, max_batch: int = 100, workers: int | None = None) -> None:
        self.store = store
        self.max_batch = max_batch
        # SQLite writes one transaction at a time; PostgreSQL takes two at once (more only split the groups)
        self.workers = workers or (1 if store.dialect == "sqlite" else 2)
        self._queue: list[tuple[str, Callable[[Any], Awaitable[Any]], asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()
        self.transactions = 0  # figures for tests and benchmarks
        self.operations = 0

    async def run(self, op: Callable[[Any], Awaitable[Any]], key: str = "") -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((key, op, future))
        if sum(1 for t in self._running if not t.done()) < self.workers:  # a worker that returned is done
            worker = loop.create_task(self._drain())
            self._running.add(worker)
            worker.add_done_callback(self._running.discard)
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            batch.sort(key=lambda item: item[0])  # stable: one key's operations keep their order
            try:
                results = await self._together(batch)
            except Exception:  # undone: each again alone, so that only the one at fault fails
                for item in batch:
                    try:
                        result = (await self._together([item]))[0]
                    except Exception as exc:
                        if not item[2].done():
                            item[2].set_exception(exc)
                    else:
                        if not item[2].done():
                            item[2].set_result(result)
                continue
            for (_key, _op, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _together(self, batch: list) -> list:
        self.transactions += 1
        self.operations += len(batch)
        async with _tx(self.store) as session:
            return [await op(session) for _key, op, _future in batch]


class Direct:
    """The same calls, each in a transaction of its own."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def run(self, op: Callable[[Any], Awaitable[Any]], key: str = "") -> Any:
        async with _tx(self.store) as session:
            return await op(session)


def runner(store: Any) -> GroupCommit:
    return GroupCommit(store)


def _sql(values: dict[str, Any]) -> dict[str, Any]:
    """`values` for a SQLAlchemy update of channel_states: an `Add` is the column plus its n."""
    return {k: STATES.c[k] + v.n if isinstance(v, Add) else v for k, v in values.items()}


def _state_or_fresh(found: Any, channel: str, external_id: str) -> ChannelState:
    """The row as read (a mapping), or a fresh unsaved one when there is none."""
    return as_state(found) if found is not None else ChannelState(channel=channel, external_id=external_id)


def _insert(store: Any, table: Any) -> Any:
    return (pg_insert if store.dialect == "postgresql" else sqlite_insert)(table)


async def _ensure(session: Any, store: Any, channel: str, external_id: str) -> bool:
    """Make the user's row if missing, from earlier prefs where there are any. True when there were."""
    prefs = (await session.execute(
        select(col(User.prefs)).where(col(User.channel) == channel, col(User.external_id) == external_id)
    )).scalar_one_or_none() or {}
    values = from_prefs(prefs)
    fresh = ChannelState(channel=channel, external_id=external_id)
    row = {name: getattr(fresh, name) for name in ChannelState.model_fields} | values
    await session.execute(_insert(store, STATES).values(**row)
                          .on_conflict_do_nothing(index_elements=["channel", "external_id"]))
    return bool(values)


async def channel_state(store: Any, channel: str, external_id: str, *, session: Any = None) -> ChannelState:
    """The user's row; one read from earlier prefs the first time; a fresh (unsaved) one when neither."""
    async with _tx(store, session) as session:
        if isinstance(session, PgTx):
            return _state_or_fresh(await channel_pg.state(session, channel, external_id), channel, external_id)
        table = STATES
        where = (table.c.channel == channel) & (table.c.external_id == external_id)
        found = (await session.execute(select(table).where(where))).first()
        if found is None and await _ensure(session, store, channel, external_id):
            found = (await session.execute(select(table).where(where))).first()
    return _state_or_fresh(found._mapping if found is not None else None, channel, external_id)


async def update_state(store: Any, channel: str, external_id: str, *, session: Any = None,
                       **values: Any) -> ChannelState:
    """Set columns and return the row as it is now. A value may be `Add(n)`: the column plus n, added in
    the database, so counts add up across processes."""
    async with _tx(store, session) as session:
        if isinstance(session, PgTx):
            return as_state(await channel_pg.update(session, channel, external_id, utcnow(), values))
        table = STATES
        stmt = (update(table).where(table.c.channel == channel, table.c.external_id == external_id)
                .values(updated_at=utcnow(), **_sql(values)).returning(*table.c))
        found = (await session.execute(stmt)).first()
        if found is None:
            await _ensure(session, store, channel, external_id)
            found = (await session.execute(stmt)).first()
    return as_state(found._mapping)


async def claim_nonce(store: Any, channel: str, timestamp: int, nonce: str, delivery: str,
                      at: datetime, *, session: Any = None) -> str | None:
    """Record a signed request's (timestamp, nonce). None when it is new; else the delivery it carried
    the first time (the same one: WeChat retrying; another: a replay)."""
    table = NONCES
    async with _tx(store, session) as session:
        if isinstance(session, PgTx):
            return await channel_pg.claim_nonce(session, channel, timestamp, nonce, delivery, at)
        done = await session.execute(
            _insert(store, table).values(channel=channel, timestamp=timestamp, nonce=nonce,
                                         delivery=delivery[:200], seen_at=at)
            .on_conflict_do_nothing(index_elements=["channel", "timestamp", "nonce"]))
        if done.rowcount:
            return None
        return (await session.execute(
            select(table.c.delivery).where(table.c.channel == channel, table.c.timestamp == timestamp,
                                           table.c.nonce == nonce))).scalar_one_or_none() or ""


async def forget_nonces(store: Any, before: datetime) -> int:
    """Drop pairs seen before `before` (older requests are refused by their timestamp anyway)."""
    async with store.sessions() as session, session.begin():
        result = await session.execute(delete(ChannelNonce).where(col(ChannelNonce.seen_at) < before))
        return result.rowcount or 0


async def begin_message(store: Any, channel: str, external_id: str, *, session: Any = None,
                        **values: Any) -> tuple[ChannelState, list[Reply]]:
    """At a message of the user: their row (with `values` set, as `update_state` does; or as it is) and the
    replies waiting for them in the outbox, oldest first, read in one transaction. The outbox is not
    marked: the engine shows what waits with its answer and marks it delivered in the message's commit."""
    async with _tx(store, session) as session:
        if isinstance(session, PgTx):
            found = await (channel_pg.update(session, channel, external_id, utcnow(), values) if values
                           else channel_pg.state(session, channel, external_id))
            waiting = await channel_pg.waiting(session, channel, external_id)
        else:
            table = STATES
            where = (table.c.channel == channel) & (table.c.external_id == external_id)
            stmt = (update(table).where(where).values(updated_at=utcnow(), **_sql(values)).returning(*table.c)
                    if values else select(table).where(where))
            row = (await session.execute(stmt)).first()
            if row is None and (await _ensure(session, store, channel, external_id) or values):
                row = (await session.execute(stmt)).first()
            found = row._mapping if row is not None else None
            waiting = (await session.execute(
                select(col(Outbox.replies)).where(col(Outbox.channel) == channel,
                                                  col(Outbox.external_id) == external_id,
                                                  col(Outbox.delivered_at).is_(None)).order_by(col(Outbox.id))
            )).scalars().all()
    return (_state_or_fresh(found, channel, external_id),
            [reply_from_dict(d) for replies in waiting for d in (replies or [])])


async def arrive(store: Any, channel: str, external_id: str, seq: str, now: datetime, stale_before: datetime,
                 *, force: bool = False, values: dict[str, Any] | None = None,
                 session: Any = None) -> tuple[str, ChannelState]:
    """One look at whether the message `seq` of this user may be applied now, and the user's row:

    - "late": a newer message of theirs was applied already (its effects would come out of order);
    - "wait": an older message of theirs is waiting, or one is being handled (by any process): ask again;
    - "go": it is marked started; call `settle` once it is applied. `force`: go unless late.

    One transaction that first writes the user's `channel_states` row (with `values`, e.g. the window the
    message opens), so the decisions of two processes about one user are taken one after the other (a row
    lock on PostgreSQL, the database's on SQLite). Entries older than `stale_before` (a process that died
    while handling) are ignored and dropped."""
    async with _tx(store, session) as session:
        if isinstance(session, PgTx):
            verdict, found = await channel_pg.arrive(session, channel, external_id, seq, now, stale_before, force,
                                                     values or {})
            return verdict, as_state(found)
        st, ar = STATES, ARRIVALS
        owner = (ar.c.channel == channel) & (ar.c.external_id == external_id)
        lock = (update(st).where(st.c.channel == channel, st.c.external_id == external_id)
                .values(updated_at=now, **_sql(values or {})).returning(*st.c))
        found = (await session.execute(lock)).first()
        if found is None:
            await _ensure(session, store, channel, external_id)
            found = (await session.execute(lock)).first()
        state = as_state(found._mapping)
        rows = [] if late(state.applied_seq, seq) else (await session.execute(
            select(ar.c.seq, ar.c.started, ar.c.arrived_at).where(owner))).all()
        verdict, stale, write = decide(state.applied_seq, rows, seq, stale_before, force)
        if stale:
            await session.execute(delete(ar).where(owner, ar.c.seq.in_(stale)))
        if write == "insert":
            await session.execute(_insert(store, ar).values(channel=channel, external_id=external_id, seq=seq,
                                                           started=verdict == "go", arrived_at=now))
        elif write == "start":
            await session.execute(update(ar).where(owner, ar.c.seq == seq).values(started=True))
        return verdict, state


async def settle(store: Any, channel: str, external_id: str, seq: str, now: datetime, *,
                 session: Any = None) -> None:
    """The message `seq` is applied (or given up): it is the user's latest unless a newer one is, and the
    messages waiting behind it may go."""
    async with _tx(store, session) as session:
        if isinstance(session, PgTx):
            return await channel_pg.settle(session, channel, external_id, seq, now)
        st, ar = STATES, ARRIVALS
        newest = case((st.c.applied_seq.is_(None) | (st.c.applied_seq < seq), seq), else_=st.c.applied_seq)
        await session.execute(update(st).where(st.c.channel == channel, st.c.external_id == external_id)
                              .values(applied_seq=newest, updated_at=now))
        await session.execute(delete(ar).where(ar.c.channel == channel, ar.c.external_id == external_id,
                                               ar.c.seq == seq))
