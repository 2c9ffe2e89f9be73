"""renders.pdf_pending: a worker stores a form's .docx as soon as it is made and its PDF after, so the
confirm hands the .docx over at once and the PDF follows (storage/render_models.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('renders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_pending', sa.Boolean(), server_default='false', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('renders', schema=None) as batch_op:
        batch_op.drop_column('pdf_pending')
