"""The schema is versioned: migrations give exactly the models' schema, and an old create_all database
keeps its answers when it is upgraded."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import storage.campaign_models  # noqa: F401
import storage.models
from storage.migrate import head, upgrade
from storage.store import make_engine

# The bot before migrations made these tables with create_all (the columns of that time).
OLD_TABLES = """
CREATE TABLE users (id INTEGER PRIMARY KEY, channel VARCHAR(16) NOT NULL, external_id VARCHAR(128) NOT NULL,
  language VARCHAR(8) NOT NULL, prefs JSON NOT NULL, created_at TIMESTAMP NOT NULL,
  CONSTRAINT uq_users_channel_external UNIQUE (channel, external_id));
CREATE TABLE conversations (user_id INTEGER PRIMARY KEY REFERENCES users (id), state JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL);
CREATE TABLE submissions (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
  form_id VARCHAR(32) NOT NULL, campaign_id VARCHAR(64), status VARCHAR(16) NOT NULL, status_note VARCHAR(500),
  answers JSON NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, completed_at TIMESTAMP);
"""


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
            for statement in OLD_TABLES.split(";"):
                if statement.strip():
                    await conn.exec_driver_sql(statement.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")
                                               if conn.dialect.name == "postgresql" else statement)
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
