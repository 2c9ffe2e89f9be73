"""A channel's own bookkeeping about one user, apart from the user's answers and prefs.

- `channel_states`: one row per (channel, user id on it) with typed columns: the customer-service
  windows WeChat opens (which action opened each, when, how many messages were sent in it), a voice
  answer waiting for its confirmation, consent to notifications, and how reminders went out.
- `channel_nonces`: the (timestamp, nonce) pairs of signed callbacks already accepted, so a replayed
  request is refused in every process on one database.

Each function is one short transaction of its own (never the user's whole message transaction), and
raises SQLAlchemy's errors as they come: the channel decides how to retry. Rows written by earlier
versions in `users.prefs` (last_msg_at, cs_used, voice_pending, notify, notify_asked, sent_via,
last_sent_via) are read once, when a user's row is first needed, and copied here; prefs stay as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel

from storage.models import User, utcnow

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


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


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
    for name in ("message_at", "event_at", "updated_at"):
        setattr(state, name, aware(getattr(state, name)))
    return state


async def _ensure(session: Any, store: Any, channel: str, external_id: str) -> bool:
    """Make the user's row if missing, from earlier prefs where there are any. True when there were."""
    prefs = (await session.execute(
        select(User.prefs).where(User.channel == channel, User.external_id == external_id)
    )).scalar_one_or_none() or {}
    values = _from_prefs(prefs)
    fresh = ChannelState(channel=channel, external_id=external_id)
    row = {name: getattr(fresh, name) for name in ChannelState.model_fields} | values
    await session.execute(_insert(store, ChannelState.__table__).values(**row)
                          .on_conflict_do_nothing(index_elements=["channel", "external_id"]))
    return bool(values)


async def channel_state(store: Any, channel: str, external_id: str) -> ChannelState:
    """The user's row; one read from earlier prefs the first time; a fresh (unsaved) one when neither."""
    table = ChannelState.__table__
    where = (table.c.channel == channel) & (table.c.external_id == external_id)
    async with store.sessions() as session, session.begin():
        found = (await session.execute(select(table).where(where))).first()
        if found is None and await _ensure(session, store, channel, external_id):
            found = (await session.execute(select(table).where(where))).first()
    return _row(found._mapping) if found is not None else ChannelState(channel=channel, external_id=external_id)


async def update_state(store: Any, channel: str, external_id: str, **values: Any) -> ChannelState:
    """Set columns and return the row as it is now. A value may be an SQL expression on the column
    (`ChannelState.message_sent + 1`), so counts add up across processes."""
    table = ChannelState.__table__
    stmt = (update(table).where(table.c.channel == channel, table.c.external_id == external_id)
            .values(updated_at=utcnow(), **values).returning(*table.c))
    async with store.sessions() as session, session.begin():
        found = (await session.execute(stmt)).first()
        if found is None:
            await _ensure(session, store, channel, external_id)
            found = (await session.execute(stmt)).first()
    return _row(found._mapping)


async def claim_nonce(store: Any, channel: str, timestamp: int, nonce: str, delivery: str,
                      at: datetime) -> str | None:
    """Record a signed request's (timestamp, nonce). None when it is new; else the delivery it carried
    the first time (the same one: WeChat retrying; another: a replay)."""
    table = ChannelNonce.__table__
    async with store.sessions() as session, session.begin():
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
        result = await session.execute(delete(ChannelNonce).where(ChannelNonce.seen_at < before))
        return result.rowcount or 0
