"""The store: SQLite file by default, PostgreSQL by URL.

A message's own reads and writes go through the hot path (storage/hot/: one statement to read the
user's rows, one commit to write them, checked against the conversation's version so several bot
processes on one database still apply one user's messages one at a time). Everything else (admin,
reminders, reports, channels' own rows) uses the SQLAlchemy async engine and ORM here.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel, col

from bot.messages import Reply, reply_from_dict, reply_to_dict
from storage.file_models import DOCUMENT, local_copy, relative_name
from storage.hot import (
    Commit,
    Conflict,
    FileRow,
    HotPath,
    Loaded,
    ReminderRow,
    SubRow,
    SubWrite,
    dumps,
    hot_path,
    key_suffix,
    message_key,
)
from storage.models import Outbox, ProcessedMessage, StoredDocument, User, utcnow

T = TypeVar("T")


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection per process: SQLite takes one writer at a time anyway, and queueing for the
        # pool is first come, first served, where SQLite's own busy handler sleeps and retries (tens
        # of ms per try, seconds at the tail). busy_timeout still covers a second process.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0,
                                     pool_timeout=60, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, say BEGIN: then it can be BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # hide_parameters: an error's text (which reaches the log) never quotes an openid or an answer
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (`session.execute` returns a CursorResult for one; its type says
    Result, which has no rowcount)."""
    return cast("CursorResult[Any]", result).rowcount or 0


class UserTx:
    """One message's view of one user: their rows as read at the start, the changes made while the
    dialog thinks, written by `commit()` in one transaction (see storage/hot/).

    `state` is the conversation's stored JSON (bot.dialogs.state reads and writes it); submissions are
    `SubRow`s (the fields of storage.models.Submission); `user` is a `UserRow`."""

    def __init__(self, store: Store, loaded: Loaded, message_id: str | None) -> None:
        self.store = store
        self.hot = store.hot
        self.user = loaded.user
        self.state: dict[str, Any] = loaded.state
        self.version = loaded.version
        self.replayed: list[Reply] | None = None  # the replies of this delivery, when it was handled (Store.begin)
        self.message_id = message_id
        self._subs: dict[int, SubRow] = {}
        self._all: list[SubRow] | None = None
        self._dirty: set[int] = set()
        self._status_dirty: set[int] = set()
        self._user_dirty = False
        self._outbox_waiting = loaded.outbox
        self._outbox_upto: int | None = None
        self._replies: list[Reply] | None = None
        self._files: dict[tuple[str, str], FileRow] = {}
        self._reminders: list[ReminderRow] = []
        if loaded.submission is not None:
            self._subs[loaded.submission.id] = loaded.submission

    # -- submissions -------------------------------------------------------------------------------

    def _known(self, row: SubRow) -> SubRow:
        return self._subs.setdefault(row.id, row)  # one object per submission within a message

    async def submission(self, submission_id: int | None) -> SubRow | None:
        if submission_id is None:
            return None
        if submission_id in self._subs:
            return self._subs[submission_id]
        return next((s for s in await self.submissions() if s.id == submission_id), None)

    async def submissions(self, form_id: str | None = None) -> list[SubRow]:
        if self._all is None:
            self._all = [self._known(row) for row in await self.hot.submissions(self.user.id)]
        return [s for s in self._all if form_id is None or s.form_id == form_id]

    async def new_submission(self, form_id: str, answers: dict[str, Any] | None = None,
                             campaign_id: str | None = None, form_version: int = 1) -> SubRow:
        """Made at once (its own small commit): an empty draft is harmless if the message is then lost."""
        sub = self._known(await self.hot.new_submission(self.user.id, form_id, dict(answers or {}), campaign_id,
                                                        form_version))
        if self._all is not None:
            self._all.append(sub)
        return sub

    def save_answers(self, sub: SubRow, answers: dict[str, Any]) -> None:
        """Write these answers at the commit. The dialogs replace values, never change them in place
        (a changed group is a new list of new rows), so a shallow copy keeps what was read apart."""
        sub.answers = dict(answers)
        self._known(sub)
        self._dirty.add(sub.id)

    def saved(self) -> list[SubRow]:
        """The submissions whose answers this message changed."""
        return [self._subs[i] for i in sorted(self._dirty)]

    def set_status(self, sub: SubRow, status: str, note: str | None = None) -> None:
        sub.status = status
        sub.status_note = note
        if status == "complete" and sub.completed_at is None:
            sub.completed_at = utcnow()
        self._known(sub)
        self._status_dirty.add(sub.id)

    # -- the user ----------------------------------------------------------------------------------

    def set_language(self, language: str) -> None:
        self.user.language = language
        self._user_dirty = True

    def update_prefs(self, **values: Any) -> None:
        self.user.prefs = {**(self.user.prefs or {}), **values}
        self._user_dirty = True

    async def take_outbox(self) -> list[Reply]:
        """What waited for this user's next message; marked delivered by this message's commit."""
        if not self._outbox_waiting:
            return []
        rows = await self.hot.outbox(self.user.channel, self.user.external_id)
        if rows:
            self._outbox_upto = max(rid for rid, _ in rows)
        return await self.store.replies_of(d for _rid, replies in rows for d in replies)

    def keep_file(self, kind: str, name: str, data: bytes, mime: str, submission_id: int | None) -> None:
        """Store a file with this message's commit (storage/file_models.py): `name` is its path under its
        folder, as it is written there too (the folder is a cache of these rows)."""
        self._files[(kind, name)] = FileRow.of(kind, name, submission_id, mime, data)

    def plan_reminder(self, form_id: str, kind: str, body: Any, due_at: datetime) -> None:
        """A message for a reminder service to send later, written with this message's commit or not at all
        (a confirm's PDF to follow: bot/campaigns/reminders.py follow_pdf)."""
        self._reminders.append(ReminderRow(form_id, kind, dumps(body), due_at))

    def remember(self, replies: Sequence[Reply]) -> None:
        """Keep the replies with the delivery's id: a retried delivery gets them again."""
        self._replies = list(replies)

    # -- the commit --------------------------------------------------------------------------------

    def changes(self) -> Commit:
        writes = []
        for sid in sorted(self._dirty | self._status_dirty):
            sub = self._subs[sid]
            answers = dumps(sub.answers) if sid in self._dirty else None
            status = sid in self._status_dirty and \
                (sub.status, sub.status_note, sub.campaign_id, sub.completed_at) != sub.loaded_status
            if answers is not None or status:
                write = SubWrite(sub, answers, status)
                if answers is not None and sub.loaded is not None and self.store.dialect == "postgresql":
                    was, now = sub.loaded, sub.answers
                    write.patch = dumps({k: v for k, v in now.items() if k not in was or was[k] != v})
                    write.removed = [k for k in was if k not in now]
                writes.append(write)
        processed = None
        if self.message_id and self._replies is not None:
            processed = (self.user.channel, message_key(self.user.id, self.message_id),
                         dumps([reply_to_dict(r) for r in self._replies]))
        return Commit(user_id=self.user.id, version=self.version, state=dumps(self.state), now=utcnow(),
                      user=(self.user.language, dumps(self.user.prefs or {})) if self._user_dirty else None,
                      subs=writes, processed=processed, outbox_upto=self._outbox_upto,
                      outbox_owner=(self.user.channel, self.user.external_id), files=list(self._files.values()),
                      reminders=list(self._reminders))

    async def commit(self) -> bool:
        """Write everything; False when another process wrote this user's conversation first (nothing
        of this message is written: handle it again)."""
        ok = await self.hot.commit(self.changes())
        if ok:
            for sub in self._subs.values():
                if sub.id in self._dirty or sub.id in self._status_dirty:
                    sub.mark_loaded()
        return ok


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.dialect = self.engine.dialect.name
        self.hot: HotPath = hot_path(url)
        self._memo: dict[Hashable, tuple[float, Any]] = {}
        # where this process keeps the documents replies send (Settings.documents_dir; set by bot.app)
        self.documents_root: Path | None = None

    async def replies_of(self, stored: Iterable[dict[str, Any]]) -> list[Reply]:
        """Stored replies (a delivery's, the outbox's) as Replies, with their documents: a document another
        process made, whose file is in its folder and not in this one's, is taken from `stored_files` into
        this process's folder first (a WeChat retry answered by another serve, the outbox read there)."""
        out = []
        for d in stored:
            docs = d.get("documents") or ()
            if self.documents_root is not None and docs:
                d = {**d, "documents": [await self._here(x) for x in docs]}
            out.append(reply_from_dict(d))
        return out

    async def _here(self, doc: dict[str, Any]) -> dict[str, Any]:
        path = Path(doc["path"]) if doc.get("path") else None
        root = self.documents_root
        if path is None or root is None or await asyncio.to_thread(path.is_file):
            return doc
        # its name under the documents folder ("<user id>/<file>"), whatever that folder is on its machine
        name = relative_name(root, path) or PurePosixPath(*path.parts[-2:]).as_posix()
        try:
            local = await local_copy(self, root, DOCUMENT, name)
        except OSError:  # a full disk here: the reply goes without it, as before
            local = None
        return {**doc, "path": str(local)} if local is not None else doc

    async def cached(self, key: Hashable, seconds: float, load: Callable[[], Awaitable[T]]) -> T:
        """`await load()` kept for `seconds` in this process: things the chat reads often and an admin
        changes rarely (the campaigns, whether a campaign has a 需求目录). Another process's change is seen
        within `seconds`; this process's `forget()` makes it seen at once."""
        now = time.monotonic()
        hit = self._memo.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        self._memo[key] = (now + seconds, value)
        if len(self._memo) > 256:
            for k in [k for k, (until, _v) in self._memo.items() if until <= now]:
                del self._memo[k]
        return value

    def forget(self) -> None:
        self._memo.clear()

    @property
    def counters(self) -> Counter[str]:
        """Statements, commits and thread hops of the per-message path (benchmarks and tests read them)."""
        return self.hot.counters

    async def create_tables(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    async def close(self) -> None:
        await self.hot.close()
        await self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    async def begin(self, channel: str, external_id: str, language: str = "zh_CN",
                    message_id: str | None = None) -> UserTx:
        """Read one user's rows for a message (creating the user on first contact)."""
        key = key_suffix(message_id) if message_id else ":"
        loaded = await self.hot.load(channel, external_id, key)
        if loaded is None:
            await self.hot.first_contact(channel, external_id, language)
            loaded = await self.hot.load(channel, external_id, key)
            if loaded is None:
                raise RuntimeError(f"user {channel}:{external_id} vanished right after it was made")
        tx = UserTx(self, loaded, message_id)
        if loaded.replayed is not None:
            tx.replayed = await self.replies_of(loaded.replayed)
        return tx

    @asynccontextmanager
    async def user_tx(self, channel: str, external_id: str, language: str = "zh_CN") -> AsyncIterator[UserTx]:
        """One user's rows, written back when the block ends (for admin work and tests; the engine uses
        `begin` and `UserTx.commit` itself, to handle a message again when another process came first)."""
        tx = await self.begin(channel, external_id, language)
        yield tx
        if not await tx.commit():
            raise Conflict(f"{channel}:{external_id} was changed by another message meanwhile")

    # -- outside one message ------------------------------------------------------------------

    async def forget_processed(self, older_than: timedelta = timedelta(days=3)) -> int:
        """Drop the replies kept for retried deliveries once no channel retries any more (WeChat within
        15 s, Telegram within a day): each holds a whole reply, and there is one per message."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(ProcessedMessage).where(col(ProcessedMessage.created_at) < utcnow() - older_than))
            return rowcount(result)

    async def outbox_put(self, channel: str, external_id: str, replies: Sequence[Reply], reason: str = "") -> None:
        async with self.sessions() as session, session.begin():
            session.add(Outbox(channel=channel, external_id=external_id,
                               replies=[reply_to_dict(r) for r in replies], reason=reason[:200]))

    async def outbox_take(self, channel: str, external_id: str) -> list[Reply]:
        """What waits for a user, marked delivered (for a channel that shows it some other way)."""
        async with self.sessions() as session, session.begin():
            rows = (await session.execute(
                select(Outbox).where(col(Outbox.channel) == channel, col(Outbox.external_id) == external_id,
                                     col(Outbox.delivered_at).is_(None)).order_by(col(Outbox.id)))).scalars().all()
            now = utcnow()
            for row in rows:
                row.delivered_at = now
            stored = [d for row in rows for d in row.replies]
        return await self.replies_of(stored)

    async def get_prefs(self, channel: str, external_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            user = (await session.execute(
                select(User).where(col(User.channel) == channel, col(User.external_id) == external_id)
            )).scalar_one_or_none()
            return dict(user.prefs or {}) if user else {}

    async def update_prefs(self, channel: str, external_id: str, **values: Any) -> None:
        async with self.user_tx(channel, external_id) as tx:
            tx.update_prefs(**values)

    async def document(self, document_id: int) -> StoredDocument | None:
        async with self.sessions() as session:
            return await session.get(StoredDocument, document_id)

    async def user(self, channel: str, external_id: str) -> User | None:
        async with self.sessions() as session:
            return (await session.execute(
                select(User).where(col(User.channel) == channel, col(User.external_id) == external_id)
            )).scalar_one_or_none()
