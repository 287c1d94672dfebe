"""``login_source``: failed logins per client address, so that one client cannot try password
after password by opening new browser sessions (``dashboard.accounts.authenticate``).

Revision ID: 0011_login_source
Revises: 0010_username_ci
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_login_source"
down_revision = "0010_username_ci"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_source",
        sa.Column("source", sa.String(length=64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_source")
