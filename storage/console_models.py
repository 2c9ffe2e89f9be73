"""The district office's console: officers, their login sessions, login attempts, review events.

An officer belongs to one campaign and one district (a 附件1 office's 区, or the province for a national
campaign) and sees only the firms there. Secrets are never stored: the password as an argon2 hash, the
one-time invite and the session cookie as SHA-256 digests of random tokens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kw)


class Officer(SQLModel, table=True):
    __tablename__ = "officers"
    __table_args__ = (UniqueConstraint("login", name="uq_officers_login"),)

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=120)  # e-mail or name, as the admin invited them
    campaign_id: str = Field(max_length=64)
    district: str = Field(max_length=40)
    password_hash: str | None = Field(default=None, max_length=200)
    invite_digest: str | None = Field(default=None, max_length=64, index=True)
    invite_expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    disabled: bool = Field(default=False)
    created_at: datetime = _ts()


class OfficerSession(SQLModel, table=True):
    __tablename__ = "officer_sessions"

    digest: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie's token
    officer_id: int = Field(foreign_key="officers.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))


class LoginAttempt(SQLModel, table=True):
    """A failed login, by login name and by address: too many in a window and login waits."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160)
    at: datetime = _ts()


class ReviewEvent(SQLModel, table=True):
    """What an officer did to a firm's form: received (已收到纸质件), approved (初审通过), returned (退回)."""

    __tablename__ = "review_events"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    officer_id: int | None = Field(default=None, foreign_key="officers.id")
    action: str = Field(max_length=16)
    note: str = Field(default="", max_length=500)
    at: datetime = _ts()
