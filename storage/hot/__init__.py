"""The per-message hot path: read one user's rows in one statement, write them back in one commit.

Every message a user sends is: read (user + conversation + the open submission + "was this delivery
handled already?" + "is anything waiting in the outbox?", one statement), think (the dialog, in memory,
no database), write (conversation, the changed submission, the retry record, one transaction). The
SQLAlchemy ORM stays where it is convenient (admin, reminders, reports); here the drivers are used
directly, because an ORM unit of work and a thread hop per statement cost more than the commit itself.

Concurrency: one message at a time per user is kept by the engine's per-user lock within a process and,
across processes, by the conversation's `version`: a commit writes only if the version is the one it
read (`UPDATE … WHERE version = ?`); otherwise nothing of it is written and the engine handles the
message again on the new state. No row lock is held while the dialog thinks (or renders a PDF).

Where what is:

- `storage.hot.contract`: the rows and the protocol, no I/O: `UserRow`, `SubRow`, `Loaded`, `SubWrite`,
  `Commit`, the read-only views `SubmissionLike` and `UserLike`, `HotPath`, `Conflict`, `message_key` /
  `key_suffix`, `dumps` / `utcnow`, and the read statement both drivers spell (`LOAD`, `SUB_COLUMNS`).
- `storage.hot.sqlite`: `SqliteHotPath`: a reader thread, one writer thread, group commit (a SAVEPOINT
  per message), and the loop's own thread when a message is alone.
- `storage.hot.postgres`: `PgHotPath`: asyncpg with a pool, the commit one statement of CTEs.
- here: `hot_path(url)`, the driver for a database URL, and `transient_errors()`; and the names above,
  so `from storage.hot import SubRow, …` reads the same wherever it is written.

The drivers import the contract and never each other; nothing under storage/hot imports this module.
"""

from __future__ import annotations

import sqlite3

from storage.hot.contract import (
    Commit,
    Conflict,
    FileRow,
    HotPath,
    Loaded,
    ReminderRow,
    SubmissionLike,
    SubRow,
    SubWrite,
    UserLike,
    UserRow,
    dumps,
    key_suffix,
    message_key,
    utcnow,
)
from storage.hot.postgres import PgHotPath
from storage.hot.sqlite import SqliteHotPath

__all__ = [
    "Commit",
    "Conflict",
    "FileRow",
    "HotPath",
    "Loaded",
    "ReminderRow",
    "PgHotPath",
    "SqliteHotPath",
    "SubRow",
    "SubWrite",
    "SubmissionLike",
    "UserLike",
    "UserRow",
    "dumps",
    "hot_path",
    "key_suffix",
    "message_key",
    "transient_errors",
    "utcnow",
]


def transient_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean "the database is briefly away" (retried), for every driver installed."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    errors: list[type[BaseException]] = [OperationalError, DBAPIError, PoolTimeout, ConnectionError, OSError,
                                         sqlite3.OperationalError, TimeoutError]
    try:
        import asyncpg
    except ImportError:
        pass
    else:
        errors += [asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                   asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CrashShutdownError,
                   asyncpg.exceptions.TooManyConnectionsError]
    return tuple(errors)


def hot_path(url: str) -> HotPath:
    if url.startswith("sqlite"):
        return SqliteHotPath(url)
    if url.startswith("postgresql"):
        return PgHotPath(url)
    raise ValueError(f"no hot path for {url.split(':', 1)[0]!r}: use SQLite or PostgreSQL")
