"""``user_session``: logins kept in the database, so that a reload, a new tab or another app
process behind the proxy finds the login again (``dashboard.sessions``).

Revision ID: 0013_user_session
Revises: 0012_one_head
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_user_session"
down_revision = "0012_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True, unique=True),
        sa.Column("pickup_hash", sa.String(length=64), nullable=True, unique=True),
        sa.Column("pickup_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unsaved", sa.Text(), nullable=True),
    )
    op.create_index("ix_user_session_user", "user_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user", table_name="user_session")
    op.drop_table("user_session")
