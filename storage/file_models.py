"""`stored_files`: a finished form's files (.docx, PDF) and the files a user sent as evidence, kept in the
database so that any process on any machine can hand them out; the data folder is their cache.

One row per file, named by its path relative to its folder as the bot has always kept it — a document
`<user id>/<submission id>-<name>` under `documents/`, a received file `<user id>/<submission id>/<name>`
under `files/` — unique per (kind, name). The rows are written by the message's own commit (the hot path's
`Commit.files`: at a confirm, and at the answer that sends a file; never at an ordinary answer), in the
same transaction that marks the form complete, so a form is never complete without its files.

`local_copy` hands a file out: the local file when its hash matches the row, else the row's bytes written
to the local folder (atomically, 0600) first. A file kept before this table existed has no row and is
served from the folder as before. 删除我的数据 removes the rows with the user's others (storage/erase.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from sqlalchemy import Column, DateTime, Index, LargeBinary, UniqueConstraint, delete, select
from sqlmodel import Field, SQLModel, col

from bot.config import PRIVATE_DIR, PRIVATE_FILE
from storage.hot.contract import FileRow
from storage.models import utcnow

__all__ = ["DOCUMENT", "EVIDENCE", "FileRow", "Listed", "StoredFile", "keep_file", "listed", "local_copy"]



class Store(Protocol):
    """storage.store.Store, as far as the files need it (that module stores them; this one reads them)."""

    sessions: Any

DOCUMENT, EVIDENCE = "document", "evidence"  # under settings.documents_dir, under settings.files_dir


class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_files"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_stored_files_kind_name"),
                      Index("ix_stored_files_user_submission", "user_id", "submission_id"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    submission_id: int | None = Field(default=None, foreign_key="submissions.id")
    kind: str = Field(max_length=16)  # DOCUMENT | EVIDENCE
    name: str = Field(max_length=500)  # the path under its folder, "/"-separated
    mime: str = Field(max_length=100)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class Listed:
    name: str
    mime: str
    sha256: str


def relative_name(root: Path, path: Path) -> str | None:
    """`path` as a name under `root` ("3/5-表.docx"); None for a path outside it."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return PurePosixPath(*rel.parts).as_posix() if rel.parts else None


async def listed(store: Store, kind: str, user_id: int, submission_id: int | None) -> list[Listed]:
    """The stored files of one kind of a user's submission, by name (without their bytes)."""
    async with store.sessions() as session:
        rows = (await session.execute(
            select(col(StoredFile.name), col(StoredFile.mime), col(StoredFile.sha256))
            .where(col(StoredFile.kind) == kind, col(StoredFile.user_id) == user_id,
                   col(StoredFile.submission_id) == submission_id)
            .order_by(col(StoredFile.name)))).all()
    return [Listed(*r) for r in rows]


async def keep_file(session: Any, user_id: int, kind: str, name: str, submission_id: int | None, mime: str,
                    data: bytes, now: datetime) -> None:
    """Store a file outside a message's commit (a PDF that follows its confirm), replacing one of that name,
    in the caller's transaction."""
    await session.execute(delete(StoredFile).where(col(StoredFile.kind) == kind, col(StoredFile.name) == name))
    row = FileRow.of(kind, name, submission_id, mime, data)
    session.add(StoredFile(user_id=user_id, submission_id=submission_id, kind=kind, name=name, mime=mime, data=data,
                           sha256=row.sha256, created_at=now))


def _matches(path: Path, sha256: str) -> bool:
    try:
        return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def write_private(path: Path, data: bytes) -> None:
    """Atomically (a crash leaves no half file under the real name), 0600 in 0700 folders."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


async def local_copy(store: Store, root: Path, kind: str, name: str, sha256: str | None = None) -> Path | None:
    """The file `name` of `kind` as a local file under `root`: the cached one when its hash matches the
    stored row (`sha256`, when the caller listed it already), else the row's bytes written there first;
    a file with no row (kept before the table) when it is there. None: there is no such file."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    path = root / Path(*rel.parts)
    if sha256 is None:
        async with store.sessions() as session:
            sha256 = (await session.execute(select(col(StoredFile.sha256)).where(
                col(StoredFile.kind) == kind, col(StoredFile.name) == name))).scalar()
        if sha256 is None:
            return path if await asyncio.to_thread(path.is_file) else None
    if await asyncio.to_thread(_matches, path, sha256):
        return path
    async with store.sessions() as session:
        data = (await session.execute(select(col(StoredFile.data)).where(
            col(StoredFile.kind) == kind, col(StoredFile.name) == name))).scalar()
    if data is None:  # erased meanwhile
        return None
    await asyncio.to_thread(write_private, path, bytes(data))
    return path
