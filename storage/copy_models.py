"""The 已填 marks of the 网上填报 page: `copy_marks`, one row an answer a user has ticked as typed into the
online platform (大中小企业融通创新服务平台), so that the ticks survive a reload and another device.

A mark names a submission and a step path ("company_name", "items.0.name"); there is one row at most for
each (the primary key). Deleting a user's data deletes their marks with their submissions (storage/erase.py
deletes every table's rows by `submission_id`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col

from storage.models import utcnow
from storage.tables import table_of


class CopyMark(SQLModel, table=True):
    __tablename__ = "copy_marks"

    submission_id: int = Field(primary_key=True, foreign_key="submissions.id")
    path: str = Field(primary_key=True, max_length=64)
    marked_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


async def marked_paths(store: Any, submission_id: int) -> set[str]:
    """The paths of a submission's answers that are marked 已填."""
    async with store.sessions() as session:
        rows = await session.execute(select(col(CopyMark.path)).where(col(CopyMark.submission_id) == submission_id))
        return set(rows.scalars())


async def set_mark(store: Any, submission_id: int, path: str, on: bool, now: datetime | None = None) -> None:
    """Mark (`on`) or unmark one answer; marking twice, or unmarking what is not marked, changes nothing."""
    async with store.sessions() as session, session.begin():
        if not on:
            await session.execute(delete(CopyMark).where(col(CopyMark.submission_id) == submission_id,
                                                         col(CopyMark.path) == path))
            return
        insert = pg_insert if store.dialect == "postgresql" else sqlite_insert
        await session.execute(insert(table_of(CopyMark))
                              .values(submission_id=submission_id, path=path, marked_at=now or utcnow())
                              .on_conflict_do_nothing(index_elements=["submission_id", "path"]))
