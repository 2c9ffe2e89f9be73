"""The store: async functions over SQLAlchemy (SQLite file by default, PostgreSQL by URL).

One message = one transaction in which the user's conversation row is locked
(`SELECT … FOR UPDATE` on PostgreSQL; `BEGIN IMMEDIATE` on SQLite, whose writers are serialised),
so several bot processes on one database still handle one user's messages one at a time.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from bot.messages import Reply, reply_from_dict, reply_to_dict
from storage.models import (
    Conversation,
    Outbox,
    ProcessedMessage,
    StoredDocument,
    Submission,
    User,
    utcnow,
)


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection per process: SQLite takes one writer at a time anyway, and queueing for the
        # pool is first come, first served, where SQLite's own busy handler sleeps and retries (tens
        # of ms per try, seconds at the tail). busy_timeout still covers a second process.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0,
                                     pool_timeout=60)

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
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class UserTx:
    """One message's transaction for one user, with their conversation row locked."""

    def __init__(self, session: AsyncSession, user: User, conversation: Conversation) -> None:
        self.session = session
        self.user = user
        self.conversation = conversation
        self.state: dict[str, Any] = copy.deepcopy(conversation.state or {})

    def _message_key(self, message_id: str) -> str:
        """The user's own key for a delivery: a channel's message ids need only be unique per user (and a
        new bot token starts Telegram's update ids again), so another user's id never finds these replies."""
        key = f"{self.user.id}:{message_id}"
        return key if len(key) <= 128 else f"{self.user.id}:#{hashlib.sha256(message_id.encode()).hexdigest()}"

    async def processed(self, message_id: str) -> list[Reply] | None:
        row = await self.session.get(ProcessedMessage, (self.user.channel, self._message_key(message_id)))
        return None if row is None else [reply_from_dict(d) for d in row.replies]

    def remember(self, message_id: str, replies: Sequence[Reply]) -> None:
        self.session.add(ProcessedMessage(channel=self.user.channel, message_id=self._message_key(message_id),
                                          user_id=self.user.id, replies=[reply_to_dict(r) for r in replies]))

    async def submission(self, submission_id: int | None) -> Submission | None:
        if submission_id is None:
            return None
        sub = await self.session.get(Submission, submission_id)
        return sub if sub is not None and sub.user_id == self.user.id else None

    async def submissions(self, form_id: str | None = None) -> list[Submission]:
        q = select(Submission).where(Submission.user_id == self.user.id)
        if form_id:
            q = q.where(Submission.form_id == form_id)
        return list((await self.session.execute(q.order_by(Submission.id))).scalars())

    async def new_submission(self, form_id: str, answers: dict[str, Any] | None = None,
                             campaign_id: str | None = None) -> Submission:
        sub = Submission(user_id=self.user.id, form_id=form_id, campaign_id=campaign_id, answers=answers or {})
        self.session.add(sub)
        await self.session.flush()
        return sub

    def save_answers(self, sub: Submission, answers: dict[str, Any]) -> None:
        sub.answers = copy.deepcopy(answers)  # a new object, so the JSON column is written
        sub.updated_at = utcnow()
        self.session.add(sub)

    def set_status(self, sub: Submission, status: str, note: str | None = None) -> None:
        sub.status = status
        sub.status_note = note
        sub.updated_at = utcnow()
        if status == "complete" and sub.completed_at is None:
            sub.completed_at = utcnow()
        self.session.add(sub)

    async def add_document(self, submission_id: int | None, filename: str, path: str) -> StoredDocument:
        doc = StoredDocument(user_id=self.user.id, submission_id=submission_id, filename=filename, path=path)
        self.session.add(doc)
        await self.session.flush()
        return doc

    def set_language(self, language: str) -> None:
        self.user.language = language
        self.session.add(self.user)

    def update_prefs(self, **values: Any) -> None:
        self.user.prefs = {**(self.user.prefs or {}), **values}
        self.session.add(self.user)

    async def take_outbox(self) -> list[Reply]:
        return await _take_outbox(self.session, self.user.channel, self.user.external_id)


async def _take_outbox(session: AsyncSession, channel: str, external_id: str) -> list[Reply]:
    rows = (await session.execute(
        select(Outbox).where(Outbox.channel == channel, Outbox.external_id == external_id,
                             Outbox.delivered_at.is_(None)).order_by(Outbox.id)
    )).scalars().all()
    replies: list[Reply] = []
    now = utcnow()
    for row in rows:
        replies.extend(reply_from_dict(d) for d in row.replies)
        row.delivered_at = now
        session.add(row)
    return replies


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.dialect = self.engine.dialect.name

    async def create_tables(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    @asynccontextmanager
    async def user_tx(self, channel: str, external_id: str, language: str = "zh_CN") -> AsyncIterator[UserTx]:
        """Open one transaction with the user's conversation locked; commit on success.

        A known user and their conversation are read in one statement (on PostgreSQL the conversation row
        locked, then the user read again after the lock, as another process may have changed it; SQLite's
        BEGIN IMMEDIATE already holds the one write lock). On first contact both rows are created race-free:
        INSERT … ON CONFLICT DO NOTHING, then read back.
        """
        postgres = self.dialect == "postgresql"
        async with self.sessions() as session, session.begin():
            q = (select(User, Conversation).join(Conversation, Conversation.user_id == User.id)
                 .where(User.channel == channel, User.external_id == external_id))
            if postgres:
                q = q.with_for_update(of=Conversation)
            found = (await session.execute(q)).first()
            if found is not None:
                user, conversation = found
                if postgres:
                    await session.refresh(user)
            else:
                user, conversation = await self._first_contact(session, channel, external_id, language)
            tx = UserTx(session, user, conversation)
            yield tx
            if tx.state != conversation.state:
                await session.execute(
                    update(Conversation).where(Conversation.user_id == user.id)
                    .values(state=tx.state, updated_at=utcnow())
                )

    async def _first_contact(self, session: AsyncSession, channel: str, external_id: str,
                             language: str) -> tuple[User, Conversation]:
        await session.execute(
            self._insert(User.__table__)
            .values(channel=channel, external_id=external_id, language=language, prefs={}, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
        user = (await session.execute(
            select(User).where(User.channel == channel, User.external_id == external_id)
        )).scalar_one()
        await session.execute(
            self._insert(Conversation.__table__)
            .values(user_id=user.id, state={}, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        q = select(Conversation).where(Conversation.user_id == user.id)
        if self.dialect == "postgresql":
            q = q.with_for_update()
        conversation = (await session.execute(q)).scalar_one()
        await session.refresh(user)  # read after the lock: another process may have changed it
        return user, conversation

    # -- outside one message ------------------------------------------------------------------

    async def forget_processed(self, older_than: timedelta = timedelta(days=3)) -> int:
        """Drop the replies kept for retried deliveries once no channel retries any more (WeChat within
        15 s, Telegram within a day): each holds a whole reply, and there is one per message."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(ProcessedMessage).where(ProcessedMessage.created_at < utcnow() - older_than))
            return result.rowcount or 0

    async def outbox_put(self, channel: str, external_id: str, replies: Sequence[Reply], reason: str = "") -> None:
        async with self.sessions() as session, session.begin():
            session.add(Outbox(channel=channel, external_id=external_id,
                               replies=[reply_to_dict(r) for r in replies], reason=reason[:200]))

    async def outbox_take(self, channel: str, external_id: str) -> list[Reply]:
        async with self.sessions() as session, session.begin():
            return await _take_outbox(session, channel, external_id)

    async def get_prefs(self, channel: str, external_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            user = (await session.execute(
                select(User).where(User.channel == channel, User.external_id == external_id)
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
                select(User).where(User.channel == channel, User.external_id == external_id)
            )).scalar_one_or_none()
