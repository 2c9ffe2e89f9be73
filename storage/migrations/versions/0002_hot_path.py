"""hot path: conversations.version (optimistic per-user commits), submissions.form_version

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("conversations", "version", "0"), ("submissions", "form_version", "1"))


def _has(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # A database made by create_all before migrations may already have them (storage/migrate.py).
    for table, column, default in COLUMNS:
        if not _has(table, column):
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default=default))


def downgrade() -> None:
    for table, column, _default in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
