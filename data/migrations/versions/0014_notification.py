"""``notification``: the e-mail outbox, written in the same transaction as the change it reports
(``dashboard.notify``); and ``user_account.notify_new_inquiries``, the staff who asked for a mail
about every new inquiry nobody was assigned to.

Revision ID: 0014_notification
Revises: 0013_user_session
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_notification"
down_revision = "0013_user_session"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default so that the accounts already there (and an INSERT that names only the
    # older columns) get "no mail" without a separate UPDATE. A plain ADD COLUMN, not a batch:
    # SQLite adds it in place, where a batch would copy the table and lose the expression index
    # on lower(username) that SQLAlchemy cannot reflect.
    op.add_column(
        "user_account",
        sa.Column("notify_new_inquiries", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "inquiry_id",
            sa.Integer(),
            sa.ForeignKey("inquiry.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("once_key", sa.String(length=64), nullable=True, unique=True),
    )
    op.create_index("ix_notification_due", "notification", ["state", "next_attempt_at"])
    op.create_index("ix_notification_created", "notification", ["created_at"])
    op.create_index("ix_notification_inquiry", "notification", ["inquiry_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_inquiry", table_name="notification")
    op.drop_index("ix_notification_created", table_name="notification")
    op.drop_index("ix_notification_due", table_name="notification")
    op.drop_table("notification")
    # SQLite 3.35+ drops a column in place (a batch would lose the lower(username) index).
    op.drop_column("user_account", "notify_new_inquiries")
