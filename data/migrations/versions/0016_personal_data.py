"""Personal data (``dashboard.privacy``): the access log ``data_access_log``; the administrator's
grant ``user_account.may_export_contacts`` (导出含联系方式); ``inquiry.anonymised_at``, set when the
retention purge or a company's request anonymised the contact fields.

Revision ID: 0016_personal_data
Revises: 0015_routing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_personal_data"
down_revision = "0015_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not batches: SQLite adds them in place (instant on a million inquiries),
    # where a batch would copy the table and lose the expression index on lower(username) that
    # SQLAlchemy cannot reflect. The server default gives the accounts already there "no grant".
    op.add_column(
        "user_account",
        sa.Column("may_export_contacts", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("inquiry", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "data_access_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=True),
        sa.Column("serial", sa.String(length=18), nullable=True),
        sa.Column("filter", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
    )
    op.create_index("ix_data_access_log_at", "data_access_log", ["at"])
    op.create_index("ix_data_access_log_actor_at", "data_access_log", ["actor_id", "at"])
    op.create_index("ix_data_access_log_inquiry", "data_access_log", ["inquiry_id"])


def downgrade() -> None:
    op.drop_index("ix_data_access_log_inquiry", table_name="data_access_log")
    op.drop_index("ix_data_access_log_actor_at", table_name="data_access_log")
    op.drop_index("ix_data_access_log_at", table_name="data_access_log")
    op.drop_table("data_access_log")
    # SQLite 3.35+ drops a column in place (a batch would lose the lower(username) index).
    op.drop_column("inquiry", "anonymised_at")
    op.drop_column("user_account", "may_export_contacts")
