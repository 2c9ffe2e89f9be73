"""Tables. Everything one user has said lives here; nothing is kept only in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JsonType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kw)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_users_channel_external"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    language: str = Field(default="zh_CN", max_length=8)
    prefs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    created_at: datetime = _ts()


class Conversation(SQLModel, table=True):
    """Where one user stands. Its row is locked for the length of one message's transaction."""

    __tablename__ = "conversations"

    user_id: int = Field(primary_key=True, foreign_key="users.id")
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    # Bumped by every message's commit: a commit that finds another version was beaten by a concurrent
    # message of the same user (another process) and is done again on the new state.
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    updated_at: datetime = _ts()


class Submission(SQLModel, table=True):
    """One filling-in of one form by one user; answers are saved the moment they are accepted."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_user_form", "user_id", "form_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    form_id: str = Field(max_length=32)
    campaign_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default="draft", max_length=16)  # draft | complete | submitted | approved | returned
    status_note: str | None = Field(default=None, max_length=500)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    form_version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ProcessedMessage(SQLModel, table=True):
    """A delivery already handled, with the replies it got: a retried delivery gets them again."""

    __tablename__ = "processed_messages"

    channel: str = Field(primary_key=True, max_length=16)
    message_id: str = Field(primary_key=True, max_length=128)
    user_id: int = Field(foreign_key="users.id")
    replies: list[Any] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    created_at: datetime = _ts(index=True)


class StoredDocument(SQLModel, table=True):
    """A document handed to a user; its file lives under the data folder."""

    __tablename__ = "documents"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id")
    filename: str = Field(max_length=200)
    path: str = Field(max_length=500)
    created_at: datetime = _ts()


class Outbox(SQLModel, table=True):
    """Replies a channel could not deliver; shown the next time the user writes."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "channel", "external_id", "delivered_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    replies: list[Any] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    reason: str = Field(default="", max_length=200)
    created_at: datetime = _ts()
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
