"""`await upgrade(url_or_engine)`: bring a database to the newest schema (alembic upgrade head).

Works on SQLite and PostgreSQL, on a new database and on one made earlier by
`SQLModel.metadata.create_all` (no `alembic_version` table yet): the missing tables are created and
the database is stamped at the initial revision, then upgraded. Later revisions keep the answers.
Alembic is configured here, not from alembic.ini, so an installed package migrates too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.campaign_models  # noqa: F401
import storage.catalogue_models  # noqa: F401
import storage.channel_models  # noqa: F401
import storage.console_models  # noqa: F401
import storage.copy_models  # noqa: F401
import storage.file_models  # noqa: F401
import storage.link_models  # noqa: F401
import storage.models  # noqa: F401
import storage.render_models  # noqa: F401
import storage.token_models  # noqa: F401

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL = "0001"
# The tables the initial revision made; later revisions make their own (and may add columns to these).
INITIAL_TABLES = ("users", "conversations", "submissions", "processed_messages", "documents", "outbox",
                  "campaigns", "reminders")
_lock = asyncio.Lock()  # alembic's context is module-global: one upgrade at a time in a process


def config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def _upgrade(connection: Any) -> None:
    cfg = config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "users" in tables:
        # Made by create_all before migrations existed: complete it as of the initial revision, stamp.
        SQLModel.metadata.create_all(connection, checkfirst=True,
                                     tables=[SQLModel.metadata.tables[t] for t in INITIAL_TABLES])
        command.stamp(cfg, INITIAL)
    command.upgrade(cfg, "head")


def current(connection: Any) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(target: str | AsyncEngine) -> str | None:
    """Upgrade to head; returns the revision the database is at."""
    from storage.store import make_engine

    engine = make_engine(target) if isinstance(target, str) else target
    try:
        async with _lock:
            if engine.dialect.name == "postgresql":
                async with engine.begin() as conn:  # two processes starting at once: one migrates
                    await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4674011)")
                    await conn.run_sync(_upgrade)
            else:
                async with engine.begin() as conn:
                    await conn.run_sync(_upgrade)
            async with engine.connect() as conn:
                return await conn.run_sync(current)
    finally:
        if isinstance(target, str):
            await engine.dispose()
