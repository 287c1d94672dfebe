"""Usernames unique whatever their case: a unique index on ``lower(username)``.

``accounts.create_user`` stores usernames normalized (``models.normalize_username``) and looks for a
case twin first; this index makes two creations at the same moment unable to both win, and keeps
accounts created before normalization (``Staff``) from getting a twin (``staff``).

Accounts that already differ only in case would make the index impossible: the upgrade stops and
names them, so that an administrator renames one of each pair first.

Revision ID: 0010_username_ci
Revises: 0009_bulk_load_journal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_username_ci"
down_revision = "0009_bulk_load_journal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    twins = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) FROM user_account GROUP BY lower(username) "
                "HAVING COUNT(*) > 1 ORDER BY 1"
            )
        )
        .scalars()
        .all()
    )
    if twins:
        raise RuntimeError(
            "user_account has usernames that differ only in case; rename one of each before "
            f"upgrading: {', '.join(twins)}"
        )
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_user_account_username_lower "
        "ON user_account (lower(username))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_user_account_username_lower")
