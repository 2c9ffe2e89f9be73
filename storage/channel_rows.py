"""The channel's rows (`channel_states`, `channel_nonces`, `channel_arrivals`) and the decisions about them
that need no database: what earlier versions kept in users.prefs (`from_prefs`), a row as read (`as_state`),
a message's place among its user's (`sequence`), whether it may be applied now (`late`, `decide`), and `Add`, a count
raised in the database itself. No I/O here: storage/channel_models.py (SQLAlchemy, SQLite) and
storage/channel_pg.py (asyncpg, PostgreSQL) do the reading and writing, the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from storage.models import utcnow
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
COLUMNS = tuple(ChannelState.model_fields)  # channel_states' columns, in the table's order


@dataclass(frozen=True, slots=True)
class Add:
    """A value for `update_state`: the column plus `n`, added in the database, so that counts from several
    processes add up (`message_sent=Add(1)`)."""

    n: int = 1


def from_prefs(prefs: dict[str, Any]) -> dict[str, Any]:
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


def as_state(mapping: Any) -> ChannelState:
    state = ChannelState(**dict(mapping))
    for name in ("message_at", "event_at", "scene_at", "updated_at"):
        setattr(state, name, aware(getattr(state, name)))
    return state


def sequence(create_time: str, msg_id: str) -> str | None:
    """A message's place among the user's messages as one string that sorts right in any collation (32
    digits: CreateTime, then MsgId); None when either is not a number (events carry no MsgId)."""
    ct, mid = (create_time or "").strip(), (msg_id or "").strip()
    if not (ct.isdigit() and mid.isdigit()) or len(ct) > 12 or len(mid) > 20:
        return None
    return f"{int(ct):012d}{int(mid):020d}"


def late(applied_seq: str | None, seq: str) -> bool:
    """The message `seq` comes after a newer one of its user was applied (`applied_seq`)."""
    return applied_seq is not None and seq < applied_seq


def decide(applied_seq: str | None, rows: Iterable[Any], seq: str, stale_before: datetime,
           force: bool) -> tuple[str, list[str], str | None]:
    """Whether the message `seq` may be applied now (see channel_models.arrive), from the user's
    `applied_seq` and their `channel_arrivals` rows as (seq, started, arrived_at): the verdict ("late",
    "wait" or "go"), the entries to drop as stale (a process that died while handling), and what to write
    for this message ("insert" its entry, "start" the one waiting, or nothing). A late message's own entry,
    if any, is dropped; its `rows` need not be read."""
    if late(applied_seq, seq):
        return "late", [seq], None
    rows = [(r[0], r[1], r[2]) for r in rows]
    stale = [s for s, _started, at in rows if s != seq and aware(at) < stale_before]
    waits = not force and any(started or s < seq for s, started, _at in rows if s != seq and s not in stale)
    mine = any(s == seq for s, _started, _at in rows)
    write = "insert" if not mine else None if waits else "start"
    return ("wait" if waits else "go"), stale, write
