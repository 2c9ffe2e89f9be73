"""A channel's own bookkeeping about one user, apart from the user's answers and prefs.

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

Each function is one short transaction of its own (never the user's whole message transaction), and
raises SQLAlchemy's errors as they come: the channel decides how to retry. Rows written by earlier
versions in `users.prefs` (last_msg_at, cs_used, voice_pending, notify, notify_asked, sent_via,
last_sent_via) are read once, when a user's row is first needed, and copied here; prefs stay as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col

from bot.messages import Reply, reply_from_dict
from storage.models import Outbox, User, utcnow
from storage.tables import table_of
from storage.times import aware

VIA = ("subscribe", "custom", "app", "outbox")  # how an unprompted message went out (see WeChatChannel.send)


class ChannelState(SQLModel, table=True):
    __tablename__ = "channel_states"

    channel: str = Field(primary_key=True, max_length=16)
    external_id: str = Field(primary_key=True, max_length=128)
    # The long window: opened by the user's last message (WeChat: 5 messages within 48 h) …
    message_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    message_sent: int = Field(default=0)
    # … and the short one: opened by a follow, a menu click or a scan (WeChat: 3 within 1 minute).
    event_kind: str | None = Field(default=None, max_length=16)  # follow | click | scan
    event_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    event_sent: int = Field(default=0)
    voice_pending: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notify: bool | None = Field(default=None)  # consented to subscription notifications; None: never said
    notify_asked: bool = Field(default=False)
    sent_subscribe: int = Field(default=0)
    sent_custom: int = Field(default=0)
    sent_app: int = Field(default=0)
    sent_outbox: int = Field(default=0)
    last_sent_via: str | None = Field(default=None, max_length=16)
    # The scene of the last QR code scanned (WeChat: a follow with EventKey qrscene_…, or SCAN), and when.
    scene: str | None = Field(default=None, max_length=64)
    scene_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The sequence of the last message applied (see `arrive`): an older one arriving later is not applied.
    applied_seq: str | None = Field(default=None, max_length=40)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))

    @property
    def sent_via(self) -> dict[str, int]:
        return {k: n for k in VIA if (n := getattr(self, f"sent_{k}"))}


class ChannelNonce(SQLModel, table=True):
    __tablename__ = "channel_nonces"
    __table_args__ = (Index("ix_channel_nonces_seen_at", "seen_at"),)

    channel: str = Field(primary_key=True, max_length=16)
    timestamp: int = Field(primary_key=True)
    nonce: str = Field(primary_key=True, max_length=64)
    delivery: str = Field(max_length=200)  # the delivery it carried: a retry of it is no replay
    seen_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ChannelArrival(SQLModel, table=True):
    """A message of one user being handled (`started`) or waiting for an older one to be handled first."""

    __tablename__ = "channel_arrivals"

    channel: str = Field(primary_key=True, max_length=16)
    external_id: str = Field(primary_key=True, max_length=128)
    seq: str = Field(primary_key=True, max_length=40)
    started: bool = Field(default=False)
    arrived_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# Their Tables, for Core statements (insert … on conflict, update … returning) that name columns `.c.<name>`.
STATES, NONCES, ARRIVALS = table_of(ChannelState), table_of(ChannelNonce), table_of(ChannelArrival)


@asynccontextmanager
async def _tx(store: Any, session: Any = None) -> AsyncIterator[Any]:
    """The transaction to work in: the caller's (a GroupCommit's), or one of its own."""
    if session is not None:
        yield session
        return
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
        async with self.store.sessions() as session, session.begin():
            return [await op(session) for _key, op, _future in batch]


class Direct:
    """The same calls, each in a transaction of its own."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def run(self, op: Callable[[Any], Awaitable[Any]], key: str = "") -> Any:
        async with self.store.sessions() as session, session.begin():
            return await op(session)


def runner(store: Any) -> GroupCommit:
    return GroupCommit(store)


def _insert(store: Any, table: Any) -> Any:
    return (pg_insert if store.dialect == "postgresql" else sqlite_insert)(table)


def _from_prefs(prefs: dict[str, Any]) -> dict[str, Any]:
    """The columns an earlier version kept in users.prefs. Its one window (`last_msg_at`, `cs_used`)
    was opened by messages and events alike; it is read as the long window, as it was used."""
    out: dict[str, Any] = {}
    try:
        if prefs.get("last_msg_at"):
            out["message_at"] = datetime.fromtimestamp(float(prefs["last_msg_at"]), UTC)
            out["message_sent"] = int(prefs.get("cs_used") or 0)
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    if isinstance(prefs.get("voice_pending"), str) and prefs["voice_pending"]:
        out["voice_pending"] = prefs["voice_pending"]
    if isinstance(prefs.get("notify"), bool):
        out["notify"] = prefs["notify"]
    if prefs.get("notify_asked"):
        out["notify_asked"] = True
    counts = prefs.get("sent_via")
    if isinstance(counts, dict):
        for k in VIA:
            try:
                if counts.get(k):
                    out[f"sent_{k}"] = int(counts[k])
            except (TypeError, ValueError):
                pass
    if prefs.get("last_sent_via") in VIA:
        out["last_sent_via"] = prefs["last_sent_via"]
    return out


def _row(mapping: Any) -> ChannelState:
    state = ChannelState(**dict(mapping))
    for name in ("message_at", "event_at", "scene_at", "updated_at"):
        setattr(state, name, aware(getattr(state, name)))
    return state


async def _ensure(session: Any, store: Any, channel: str, external_id: str) -> bool:
    """Make the user's row if missing, from earlier prefs where there are any. True when there were."""
    prefs = (await session.execute(
        select(col(User.prefs)).where(col(User.channel) == channel, col(User.external_id) == external_id)
    )).scalar_one_or_none() or {}
    values = _from_prefs(prefs)
    fresh = ChannelState(channel=channel, external_id=external_id)
    row = {name: getattr(fresh, name) for name in ChannelState.model_fields} | values
    await session.execute(_insert(store, STATES).values(**row)
                          .on_conflict_do_nothing(index_elements=["channel", "external_id"]))
    return bool(values)


async def channel_state(store: Any, channel: str, external_id: str, *, session: Any = None) -> ChannelState:
    """The user's row; one read from earlier prefs the first time; a fresh (unsaved) one when neither."""
    table = STATES
    where = (table.c.channel == channel) & (table.c.external_id == external_id)
    async with _tx(store, session) as session:
        found = (await session.execute(select(table).where(where))).first()
        if found is None and await _ensure(session, store, channel, external_id):
            found = (await session.execute(select(table).where(where))).first()
    return _row(found._mapping) if found is not None else ChannelState(channel=channel, external_id=external_id)


async def update_state(store: Any, channel: str, external_id: str, *, session: Any = None,
                       **values: Any) -> ChannelState:
    """Set columns and return the row as it is now. A value may be an SQL expression on the column
    (`ChannelState.message_sent + 1`), so counts add up across processes."""
    table = STATES
    stmt = (update(table).where(table.c.channel == channel, table.c.external_id == external_id)
            .values(updated_at=utcnow(), **values).returning(*table.c))
    async with _tx(store, session) as session:
        found = (await session.execute(stmt)).first()
        if found is None:
            await _ensure(session, store, channel, external_id)
            found = (await session.execute(stmt)).first()
    return _row(found._mapping)


async def claim_nonce(store: Any, channel: str, timestamp: int, nonce: str, delivery: str,
                      at: datetime, *, session: Any = None) -> str | None:
    """Record a signed request's (timestamp, nonce). None when it is new; else the delivery it carried
    the first time (the same one: WeChat retrying; another: a replay)."""
    table = NONCES
    async with _tx(store, session) as session:
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
    table = STATES
    where = (table.c.channel == channel) & (table.c.external_id == external_id)
    stmt = (update(table).where(where).values(updated_at=utcnow(), **values).returning(*table.c) if values
            else select(table).where(where))
    async with _tx(store, session) as session:
        found = (await session.execute(stmt)).first()
        if found is None and (await _ensure(session, store, channel, external_id) or values):
            found = (await session.execute(stmt)).first()
        waiting = (await session.execute(
            select(col(Outbox.replies)).where(col(Outbox.channel) == channel, col(Outbox.external_id) == external_id,
                                              col(Outbox.delivered_at).is_(None)).order_by(col(Outbox.id))
        )).scalars().all()
    state = _row(found._mapping) if found is not None else ChannelState(channel=channel, external_id=external_id)
    return state, [reply_from_dict(d) for replies in waiting for d in (replies or [])]


def sequence(create_time: str, msg_id: str) -> str | None:
    """A message's place among the user's messages as one string that sorts right in any collation (32
    digits: CreateTime, then MsgId); None when either is not a number (events carry no MsgId)."""
    ct, mid = (create_time or "").strip(), (msg_id or "").strip()
    if not (ct.isdigit() and mid.isdigit()) or len(ct) > 12 or len(mid) > 20:
        return None
    return f"{int(ct):012d}{int(mid):020d}"


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
    st, ar = STATES, ARRIVALS
    owner = (ar.c.channel == channel) & (ar.c.external_id == external_id)
    lock = (update(st).where(st.c.channel == channel, st.c.external_id == external_id)
            .values(updated_at=now, **(values or {})).returning(*st.c))
    async with _tx(store, session) as session:
        found = (await session.execute(lock)).first()
        if found is None:
            await _ensure(session, store, channel, external_id)
            found = (await session.execute(lock)).first()
        state = _row(found._mapping)
        if state.applied_seq is not None and seq < state.applied_seq:
            await session.execute(delete(ar).where(owner, ar.c.seq == seq))
            return "late", state
        rows = (await session.execute(select(ar.c.seq, ar.c.started, ar.c.arrived_at).where(owner))).all()
        stale = [r.seq for r in rows if r.seq != seq and aware(r.arrived_at) < stale_before]
        if stale:
            await session.execute(delete(ar).where(owner, ar.c.seq.in_(stale)))
        waits = not force and any(r.started or r.seq < seq for r in rows if r.seq != seq and r.seq not in stale)
        go = not waits
        if not any(r.seq == seq for r in rows):
            await session.execute(_insert(store, ar).values(channel=channel, external_id=external_id, seq=seq,
                                                           started=go, arrived_at=now))
        elif go:
            await session.execute(update(ar).where(owner, ar.c.seq == seq).values(started=True))
        return ("go" if go else "wait"), state


async def settle(store: Any, channel: str, external_id: str, seq: str, now: datetime, *,
                 session: Any = None) -> None:
    """The message `seq` is applied (or given up): it is the user's latest unless a newer one is, and the
    messages waiting behind it may go."""
    st, ar = STATES, ARRIVALS
    newest = case((st.c.applied_seq.is_(None) | (st.c.applied_seq < seq), seq), else_=st.c.applied_seq)
    async with _tx(store, session) as session:
        await session.execute(update(st).where(st.c.channel == channel, st.c.external_id == external_id)
                              .values(applied_seq=newest, updated_at=now))
        await session.execute(delete(ar).where(ar.c.channel == channel, ar.c.external_id == external_id,
                                               ar.c.seq == seq))
