"""`renders`: a form's files made by a render worker (`python -m bot worker`, PostgreSQL only), kept for the
process that waits for them.

One row per (submission, version): the version is the digest of the form and its answers
(`bot.documents.produce.key_of`), so a row is the files of exactly those answers. A worker stores its
result once (`ON CONFLICT DO NOTHING`: a job run twice, its first worker killed after storing, stores one
row), drops the rows of older versions of the same submission and every row older than `KEEP` in the
same statement, and says so on NOTIFY channel `RENDERED` (payload `submission:version:docx|ok|failed`). With
PDFs on, a worker stores the .docx first (`pdf_pending`, notice "docx") and its PDF after ("ok"). The
rows are a hand-over, not the archive (the confirming bot stores the files in `stored_files`,
storage/file_models.py, and its data folder): a confirm that finds none makes them again. 删除我的数据 removes a user's rows with their
submissions (storage/erase.py deletes every table's rows that name a submission), and a worker that
finishes after that stores nothing (the foreign key).

On SQLite the table exists (one schema for both) and stays empty: there the files are made in the bot's
process.

The statements are asyncpg's (`$1`): the worker and the waiting bot speak to PostgreSQL directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, LargeBinary
from sqlmodel import Field, SQLModel

from storage.models import utcnow

RENDERED = "jiebang_rendered"  # NOTIFY channel: a render's result is stored (or it failed)
KEEP = "1 day"  # a result is kept this long (a PostgreSQL interval): reviews are confirmed within minutes


class Render(SQLModel, table=True):
    __tablename__ = "renders"
    __table_args__ = (Index("ix_renders_made_at", "made_at"),)

    submission_id: int = Field(primary_key=True, foreign_key="submissions.id")
    version: str = Field(primary_key=True, max_length=64)  # key_of(form, answers)
    form_id: str = Field(max_length=32)
    # the queue's job that made it: a later job of the same submission has a larger id
    job_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    docx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    preview: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    pdf_failed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    # the .docx is here, its PDF still being made (a job of its own, PDF_ENTRYPOINT): the confirm hands the
    # .docx over at once and the PDF follows (bot/campaigns/reminders.py follow_pdf)
    pdf_pending: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    made_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class Made:
    """A stored result, as read back."""

    docx: bytes
    pdf: bytes | None
    preview: bytes | None
    pdf_failed: bool
    pdf_pending: bool = False


def notice(submission: int, version: str, status: str) -> str:
    return f"{submission}:{version}:{status}"


def read_notice(payload: str) -> tuple[int, str, str] | None:
    submission, _, rest = payload.partition(":")
    version, _, status = rest.partition(":")
    try:
        return int(submission), version, status
    except ValueError:
        return None


async def find(conn: Any, submission: int, version: str) -> Made | None:
    row = await conn.fetchrow("SELECT docx, pdf, preview, pdf_failed, pdf_pending FROM renders "
                              "WHERE submission_id = $1 AND version = $2", submission, version)
    if row is None:
        return None
    return Made(bytes(row[0]), _bytes(row[1]), _bytes(row[2]), bool(row[3]), bool(row[4]))


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


async def store(conn: Any, submission: int, version: str, form_id: str, job_id: int, made: Made) -> None:
    """Keep a result (once per submission and version), drop older versions' rows and rows older than
    KEEP, and NOTIFY: one statement, so the notice goes out with the commit that makes the row visible. Raises asyncpg's
    ForeignKeyViolationError when the submission is gone (erased while it was being made). A result with
    `pdf_pending` is the .docx alone (notice "docx"); `store_pdf` adds its PDF later (notice "ok")."""
    await conn.execute(
        "WITH kept AS (INSERT INTO renders (submission_id, version, form_id, job_id, docx, pdf, preview, "
        "pdf_failed, pdf_pending, made_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11, now()) "
        "ON CONFLICT (submission_id, version) DO NOTHING RETURNING 1), "
        "older AS (DELETE FROM renders WHERE submission_id = $1 AND version <> $2 AND job_id < $4 RETURNING 1), "
        f"old AS (DELETE FROM renders WHERE made_at < now() - interval '{KEEP}' RETURNING 1) "
        "SELECT pg_notify($9, $10)",
        submission, version, form_id, job_id, made.docx, made.pdf, made.preview, made.pdf_failed, RENDERED,
        notice(submission, version, "docx" if made.pdf_pending else "ok"), made.pdf_pending)


async def store_pdf(conn: Any, submission: int, version: str, pdf: bytes | None, preview: bytes | None,
                    failed: bool) -> bool:
    """The PDF (and picture of page 1) of a result stored with `pdf_pending`, and NOTIFY "ok". False when
    that row is gone (a newer version replaced it, its user erased their data) or already has its PDF."""
    done = await conn.fetchval(
        "WITH done AS (UPDATE renders SET pdf = $3, preview = $4, pdf_failed = $5, pdf_pending = false "
        "WHERE submission_id = $1 AND version = $2 AND pdf_pending RETURNING 1) "
        "SELECT count(*) FROM done, LATERAL (SELECT pg_notify($6, $7)) n",
        submission, version, pdf, preview, failed, RENDERED, notice(submission, version, "ok"))
    return bool(done)


async def say_failed(conn: Any, submission: int, version: str) -> None:
    """Tell a waiting process that this render will not come (it makes the files itself at once)."""
    await conn.execute("SELECT pg_notify($1, $2)", RENDERED, notice(submission, version, "failed"))
