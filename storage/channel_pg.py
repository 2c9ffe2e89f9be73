"""The channel's bookkeeping on PostgreSQL: plain SQL on the hot path's asyncpg pool (storage/hot/postgres.py).

The same reads and writes as storage/channel_models.py makes through SQLAlchemy on SQLite, in the same order
and under the same row locks, without building, caching and compiling a SQLAlchemy statement and a session
for each: that was a third of a `serve` process's CPU on PostgreSQL (bench_wechat_load.py --profile, 100
users). Each function takes a `PgTx`, one transaction on one connection, which channel_models.GroupCommit
shares among many users' operations; rows come back as asyncpg Records (a Mapping).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.channel_rows import COLUMNS, Add, ChannelState, decide, from_prefs, late

_WHERE = "channel = $1 AND external_id = $2"
_INSERT = (f"INSERT INTO channel_states ({', '.join(COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(COLUMNS)))}) "
           "ON CONFLICT (channel, external_id) DO NOTHING")


class PgTx:
    """A transaction on one asyncpg connection of the hot path's pool."""

    __slots__ = ("conn",)

    def __init__(self, conn: Any) -> None:
        self.conn = conn


def _assignments(values: dict[str, Any], first: int) -> tuple[str, list[Any]]:
    """`col = $n, …` for `values` (an `Add` raises the column by its n), numbered from `first`."""
    parts, args = [], []
    for name, value in values.items():
        if name not in COLUMNS:
            raise ValueError(f"channel_states has no column {name!r}")
        args.append(value.n if isinstance(value, Add) else value)
        n = first + len(args) - 1
        parts.append(f"{name} = {name} + ${n}" if isinstance(value, Add) else f"{name} = ${n}")
    return ", ".join(parts), args


async def ensure(tx: PgTx, channel: str, external_id: str) -> bool:
    """Make the user's row if missing, from earlier prefs where there are any. True when there were."""
    prefs = await tx.conn.fetchval("SELECT prefs FROM users WHERE channel = $1 AND external_id = $2",
                                   channel, external_id) or {}
    values = from_prefs(prefs)
    fresh = ChannelState(channel=channel, external_id=external_id)
    await tx.conn.execute(_INSERT, *[values.get(name, getattr(fresh, name)) for name in COLUMNS])
    return bool(values)


async def state(tx: PgTx, channel: str, external_id: str) -> Any:
    """The user's row (made first from earlier prefs where there are any), or None."""
    found = await tx.conn.fetchrow(f"SELECT * FROM channel_states WHERE {_WHERE}", channel, external_id)
    if found is None and await ensure(tx, channel, external_id):
        found = await tx.conn.fetchrow(f"SELECT * FROM channel_states WHERE {_WHERE}", channel, external_id)
    return found


async def update(tx: PgTx, channel: str, external_id: str, now: datetime, values: dict[str, Any]) -> Any:
    """Set `values` (and updated_at) and return the row, locked; the row is made first where missing."""
    sets, args = _assignments(values, 4)
    sql = f"UPDATE channel_states SET updated_at = $3{', ' if sets else ''}{sets} WHERE {_WHERE} RETURNING *"
    found = await tx.conn.fetchrow(sql, channel, external_id, now, *args)
    if found is None:
        await ensure(tx, channel, external_id)
        found = await tx.conn.fetchrow(sql, channel, external_id, now, *args)
    return found


async def claim_nonce(tx: PgTx, channel: str, timestamp: int, nonce: str, delivery: str,
                      at: datetime) -> str | None:
    """None when (timestamp, nonce) is new; else the delivery it carried the first time. One round trip:
    the insert, and the row that was there before it."""
    row = await tx.conn.fetchrow(
        "WITH ins AS (INSERT INTO channel_nonces (channel, \"timestamp\", nonce, delivery, seen_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, \"timestamp\", nonce) DO NOTHING RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM ins), (SELECT delivery FROM channel_nonces "
        "WHERE channel = $1 AND \"timestamp\" = $2 AND nonce = $3)", channel, timestamp, nonce, delivery[:200], at)
    if row[0]:
        return None
    if row[1] is not None:
        return row[1]
    # committed by another transaction after this statement's snapshot (its insert waited for that one)
    return await tx.conn.fetchval("SELECT delivery FROM channel_nonces WHERE channel = $1 AND \"timestamp\" = $2 "
                                  "AND nonce = $3", channel, timestamp, nonce) or ""


async def waiting(tx: PgTx, channel: str, external_id: str) -> list[Any]:
    """The user's undelivered outbox rows' replies, oldest first."""
    rows = await tx.conn.fetch(f"SELECT replies FROM outbox WHERE {_WHERE} AND delivered_at IS NULL ORDER BY id",
                               channel, external_id)
    return [r[0] for r in rows]


async def arrive(tx: PgTx, channel: str, external_id: str, seq: str, now: datetime, stale_before: datetime,
                 force: bool, values: dict[str, Any]) -> tuple[str, Any]:
    """channel_models.arrive: the row locked (and written) first, then the user's arrivals read under it."""
    found = await update(tx, channel, external_id, now, values)
    rows = [] if late(found["applied_seq"], seq) else await tx.conn.fetch(
        f"SELECT seq, started, arrived_at FROM channel_arrivals WHERE {_WHERE}", channel, external_id)
    verdict, stale, write = decide(found["applied_seq"], rows, seq, stale_before, force)
    if stale:
        await tx.conn.execute(f"DELETE FROM channel_arrivals WHERE {_WHERE} AND seq = ANY($3::text[])",
                              channel, external_id, stale)
    if write == "insert":
        await tx.conn.execute("INSERT INTO channel_arrivals (channel, external_id, seq, started, arrived_at) "
                              "VALUES ($1, $2, $3, $4, $5)", channel, external_id, seq, verdict == "go", now)
    elif write == "start":
        await tx.conn.execute(f"UPDATE channel_arrivals SET started = true WHERE {_WHERE} AND seq = $3",
                              channel, external_id, seq)
    return verdict, found


async def settle(tx: PgTx, channel: str, external_id: str, seq: str, now: datetime) -> None:
    """channel_models.settle, in one statement."""
    await tx.conn.execute(
        f"WITH gone AS (DELETE FROM channel_arrivals WHERE {_WHERE} AND seq = $3) "
        "UPDATE channel_states SET applied_seq = CASE WHEN applied_seq IS NULL OR applied_seq < $3 THEN $3 "
        f"ELSE applied_seq END, updated_at = $4 WHERE {_WHERE}", channel, external_id, seq, now)
