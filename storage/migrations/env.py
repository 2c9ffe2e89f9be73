"""Alembic environment, async-aware.

`storage.migrate.upgrade()` hands a live connection in `config.attributes["connection"]`; run by hand
(`alembic upgrade head`), the URL comes from `sqlalchemy.url` or JIEBANG_DATABASE_URL and an async
engine is made here. SQLite gets batch mode (ALTER TABLE by copy) for later revisions.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.campaign_models  # noqa: F401  (tables register themselves in SQLModel.metadata)
import storage.catalogue_models  # noqa: F401
import storage.channel_models  # noqa: F401
import storage.console_models  # noqa: F401
import storage.copy_models  # noqa: F401
import storage.file_models  # noqa: F401
import storage.link_models  # noqa: F401
import storage.models  # noqa: F401
import storage.render_models  # noqa: F401
import storage.token_models  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("JIEBANG_DATABASE_URL", "")
    if not url:
        from bot.config import Settings

        url = Settings.from_env().effective_database_url
    return url


def _ours(name, type_, _parent) -> bool:
    """The job queue's tables (pgqueuer, pgqueuer_log, …) are the queue library's to make and upgrade
    (bot/documents/render_queue.py): autogenerate must not propose dropping them."""
    return not (type_ == "table" and name is not None and name.startswith("pgqueuer"))


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, include_name=_ours,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)


def _run_sync(connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_sync)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (conn := config.attributes.get("connection")) is not None:
    _run_sync(conn)
else:
    asyncio.run(_run_async())
