"""The schema is versioned: migrations give exactly the models' schema, and an old create_all database
keeps its answers when it is upgraded."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import storage.campaign_models  # noqa: F401
import storage.models  # noqa: F401
from storage.migrate import INITIAL, config, head, upgrade
from storage.store import make_engine


def _old_schema(sync_conn) -> None:
    """The tables the bot made before migrations existed (as the initial revision has them), unstamped."""
    command.upgrade(config(sync_conn), INITIAL)
    for table in ("alembic_version", "campaigns", "reminders"):
        sync_conn.exec_driver_sql(f"DROP TABLE {table}")


def _diff(sync_conn):
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": False})
    return compare_metadata(ctx, SQLModel.metadata)


async def test_migrations_produce_the_models_schema(db_url):
    assert await upgrade(db_url) == head()
    assert await upgrade(db_url) == head()  # again: nothing to do
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_a_database_made_by_create_all_is_stamped_and_keeps_its_answers(db_url):
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:  # the bot before migrations: create_all of the tables it had
            await conn.run_sync(_old_schema)
            await conn.execute(text("INSERT INTO users (channel, external_id, language, prefs, created_at) "
                                    "VALUES ('test', 'old', 'zh_CN', '{}', CURRENT_TIMESTAMP)"))
            await conn.execute(text("INSERT INTO submissions (user_id, form_id, status, answers, created_at, "
                                    "updated_at) SELECT id, 'sme_match', 'draft', '{\"company_name\": \"老公司\"}', "
                                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"))
        assert await upgrade(engine) == head()
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"campaigns", "reminders", "alembic_version"} <= tables
            answers = (await conn.execute(text("SELECT answers FROM submissions"))).scalar_one()
            assert "老公司" in (answers if isinstance(answers, str) else str(answers))
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()
