"""Campaign tables: campaigns an admin added or edited, and planned reminders.

Shipped campaigns are the packs in `bot/campaigns/packs/`; a row here with the same id overrides one.
A reminder row is one message due to one user at one time: the unique key makes planning
idempotent, `claimed_at`/`claimed_by` (a lease) make sending exactly-once between processes, and a
claim older than the lease is taken again, so a crash between claim and send is retried, not lost.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import JsonType, utcnow


class CampaignRow(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: str = Field(primary_key=True, max_length=64)
    year: int
    region: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Reminder(SQLModel, table=True):
    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("user_id", "campaign_id", "form_id", "deadline", "kind", name="uq_reminders_plan"),
        Index("ix_reminders_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    campaign_id: str = Field(max_length=64)
    form_id: str = Field(max_length=32)
    kind: str = Field(max_length=40)  # d7 | d3 | d1 | d0 | notice:<outbox id> | new_notice (bot/campaigns/waiting.py)
    deadline: date | None = Field(default=None, sa_type=Date)
    due_at: datetime = Field(sa_type=DateTime(timezone=True))
    state: str = Field(default="pending", max_length=16)  # pending | sent | queued | skipped | cancelled | waiting
    body: list[Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    claimed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    claimed_by: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
