"""The hot path on PostgreSQL: asyncpg with a pool; a message's commit is one statement.

The commit's writes are data-modifying CTEs that all hang on the conversation's version check, so one
round trip and one WAL flush per message, group-committed by the server across connections. A changed
submission's answers go as a top-level jsonb patch where they can (`SubWrite.patch`): the server then
parses a few hundred bytes, not the whole form.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from storage.hot.contract import LOAD, SUB_COLUMNS, Commit, Loaded, SubRow, UserRow, dumps, sub_row, utcnow

_LOAD_PG = LOAD.format(submission="COALESCE(c.state->>'submission', c.state->>'sub')::int",
                       key="u.id::text || $1", channel="$2", external_id="$3")


async def _no_reset(conn: Any) -> None:
    """asyncpg's pool resets a connection on release (a round trip: advisory locks, LISTEN, settings). The hot
    path's statements are single autocommit statements that leave no session state: nothing to reset."""


def pg_dsn(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest


class PgHotPath:
    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.dsn = pg_dsn(url)
        self.pool_size = pool_size
        self.counters: Counter[str] = Counter()
        self.solo = False
        self._pool: Any = None
        self._opening: asyncio.Lock | None = None

    async def _init(self, conn: Any) -> None:
        for kind in ("json", "jsonb"):
            await conn.set_type_codec(kind, encoder=lambda v: v if isinstance(v, str) else dumps(v),
                                      decoder=json.loads, schema="pg_catalog")

    async def pool(self) -> Any:
        if self._pool is None:
            import asyncpg

            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size,
                                                           init=self._init, command_timeout=30, reset=_no_reset)
        return self._pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        self.counters["statements"] += 1
        pool = await self.pool()
        async with pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def load(self, channel: str, external_id: str, key: str) -> Loaded | None:
        rows = await self._fetch(_LOAD_PG, key, channel, external_id)
        if not rows:
            return None
        r = rows[0]
        sub = None
        if r[5] is not None:
            sub = SubRow(r[5], r[0], r[6], r[7], r[8], r[9], r[10] or {}, r[11] or 1, r[12], r[13],
                         r[14]).mark_loaded()
        return Loaded(UserRow(r[0], channel, external_id, r[1], r[2] or {}), r[3] or {}, r[4] or 0, sub, r[15],
                      bool(r[16]))

    async def submissions(self, user_id: int, form_id: str | None = None) -> list[SubRow]:
        if form_id:
            rows = await self._fetch(f"SELECT {SUB_COLUMNS} FROM submissions WHERE user_id = $1 AND form_id = $2 "
                                     "ORDER BY id", user_id, form_id)
        else:
            rows = await self._fetch(f"SELECT {SUB_COLUMNS} FROM submissions WHERE user_id = $1 ORDER BY id",
                                     user_id)
        return [sub_row(r, lambda v: v) for r in rows]

    async def outbox(self, channel: str, external_id: str) -> list[tuple[int, list[dict]]]:
        rows = await self._fetch("SELECT id, replies FROM outbox WHERE channel = $1 AND external_id = $2 "
                                 "AND delivered_at IS NULL ORDER BY id", channel, external_id)
        return [(r[0], r[1] or []) for r in rows]

    async def first_contact(self, channel: str, external_id: str, language: str) -> None:
        self.counters["statements"] += 1
        pool = await self.pool()
        async with pool.acquire() as conn:
            await conn.execute(
                "WITH u AS (INSERT INTO users (channel, external_id, language, prefs, created_at) "
                "VALUES ($1, $2, $3, '{}'::jsonb, now()) ON CONFLICT (channel, external_id) DO NOTHING RETURNING id) "
                "INSERT INTO conversations (user_id, state, version, updated_at) "
                "SELECT id, '{}'::jsonb, 0, now() FROM u ON CONFLICT (user_id) DO NOTHING",
                channel, external_id, language)

    async def new_submission(self, user_id: int, form_id: str, answers: dict[str, Any],
                             campaign_id: str | None, form_version: int) -> SubRow:
        now = utcnow()
        rows = await self._fetch(
            "INSERT INTO submissions (user_id, form_id, campaign_id, status, answers, form_version, created_at, "
            "updated_at) VALUES ($1, $2, $3, 'draft', $4::jsonb, $5, $6, $6) RETURNING id",
            user_id, form_id, campaign_id, dumps(answers), form_version, now)
        return SubRow(rows[0][0], user_id, form_id, campaign_id, "draft", None, dict(answers), form_version, now,
                      now).mark_loaded()

    async def commit(self, c: Commit) -> bool:
        """One statement: every write hangs on the conversation's version check (CTE `c`)."""
        args: list[Any] = [c.state, c.now, c.user_id, c.version]
        ctes = ["c AS (UPDATE conversations SET state = $1::jsonb, version = version + 1, updated_at = $2 "
                "WHERE user_id = $3 AND version = $4 RETURNING user_id)"]

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if c.user is not None:
            ctes.append(f"u AS (UPDATE users SET language = {arg(c.user[0])}, prefs = {arg(c.user[1])}::jsonb "
                        "WHERE id = (SELECT user_id FROM c) RETURNING 1)")
        for i, w in enumerate(c.subs):
            s = w.sub
            sets = ["updated_at = $2"]
            if w.patch is not None:
                sets.append(f"answers = (answers - {arg(w.removed or [])}::text[]) || {arg(w.patch)}::jsonb")
            elif w.answers is not None:
                sets.append(f"answers = {arg(w.answers)}::jsonb")
            if w.status:
                sets += [f"status = {arg(s.status)}", f"status_note = {arg(s.status_note)}",
                         f"campaign_id = {arg(s.campaign_id)}", f"completed_at = {arg(s.completed_at)}::timestamptz"]
            ctes.append(f"s{i} AS (UPDATE submissions SET {', '.join(sets)} WHERE id = {arg(s.id)} "
                        "AND user_id = (SELECT user_id FROM c) RETURNING 1)")
        if c.outbox_upto is not None:
            ctes.append(f"o AS (UPDATE outbox SET delivered_at = $2 WHERE channel = {arg(c.outbox_owner[0])} "
                        f"AND external_id = {arg(c.outbox_owner[1])} AND delivered_at IS NULL "
                        f"AND id <= {arg(c.outbox_upto)} AND EXISTS (SELECT 1 FROM c) RETURNING 1)")
        for i, f in enumerate(c.files):  # a confirm's documents, a received file: only if `c` wrote
            ctes.append(f"f{i} AS (INSERT INTO stored_files (user_id, submission_id, kind, name, mime, data, sha256, "
                        f"created_at) SELECT user_id, {arg(f.submission_id)}::integer, {arg(f.kind)}, {arg(f.name)}, "
                        f"{arg(f.mime)}, {arg(f.data)}::bytea, {arg(f.sha256)}, $2 FROM c "
                        "ON CONFLICT (kind, name) DO UPDATE SET user_id = excluded.user_id, "
                        "submission_id = excluded.submission_id, mime = excluded.mime, data = excluded.data, "
                        "sha256 = excluded.sha256, created_at = excluded.created_at RETURNING 1)")
        for i, r in enumerate(c.reminders):  # a confirm's PDF to follow: planned with the confirm, never apart
            ctes.append(f"r{i} AS (INSERT INTO reminders (user_id, campaign_id, form_id, kind, deadline, due_at, state, "
                        f"body, attempts, note, created_at) SELECT user_id, '', {arg(r.form_id)}, {arg(r.kind)}, NULL, "
                        f"{arg(r.due_at)}::timestamptz, 'pending', {arg(r.body)}::jsonb, 0, '', $2 FROM c RETURNING 1)")
        if c.processed is not None:
            ctes.append(f"p AS (INSERT INTO processed_messages (channel, message_id, user_id, replies, created_at) "
                        f"SELECT {arg(c.processed[0])}, {arg(c.processed[1])}, user_id, {arg(c.processed[2])}::jsonb, "
                        "$2 FROM c RETURNING 1)")
        sql = "WITH " + ", ".join(ctes) + " SELECT count(*) FROM c"
        self.counters["statements"] += 1
        self.counters["commits"] += 1
        pool = await self.pool()
        import asyncpg

        async with pool.acquire() as conn:
            try:
                written = await conn.fetchval(sql, *args)
            except asyncpg.UniqueViolationError:  # the same delivery committed meanwhile
                return False
        return bool(written)

