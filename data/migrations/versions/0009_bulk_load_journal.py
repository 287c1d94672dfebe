"""``bulk_load_pending``: what a running bulk load has taken away (indexes, foreign keys, the search
table's insert trigger) and the statement that puts each back, so that a load killed outright is
undone at the next start (``dashboard.bulkload``).

Revision ID: 0009_bulk_load_journal
Revises: 0008_completion_trigger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_bulk_load_journal"
down_revision = "0008_completion_trigger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_load_pending",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("ddl", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bulk_load_pending")
