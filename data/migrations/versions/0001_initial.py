"""Initial schema: accounts and their audit, inquiries and their audit trail, serial counters.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25 07:01:36.872902
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serial_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("company_name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "account_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.create_index("ix_account_event_user_at", ["user_id", "at"], unique=False)

    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=18), nullable=False),
        sa.Column("company_name", sa.String(length=100), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("address_detail", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("mobile", sa.String(length=32), nullable=False),
        sa.Column("landline", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("other_needs", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("serial"),
    )
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.create_index("ix_inquiry_assignee_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index("ix_inquiry_company", ["company_name"], unique=False)
        batch_op.create_index("ix_inquiry_email", ["email"], unique=False)
        batch_op.create_index("ix_inquiry_landline", ["landline"], unique=False)
        batch_op.create_index("ix_inquiry_mobile", ["mobile"], unique=False)
        batch_op.create_index("ix_inquiry_owner_created", ["owner_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_inquiry_province_city_submitted",
            ["province_code", "city_code", "submitted_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inquiry_status_intent_submitted", ["status", "intent", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_inquiry_status_submitted", ["status", "submitted_at"], unique=False
        )
        batch_op.create_index("ix_inquiry_submitted", ["submitted_at"], unique=False)

    op.create_table(
        "inquiry_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inquiry_event", schema=None) as batch_op:
        batch_op.create_index("ix_inquiry_event_inquiry_at", ["inquiry_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inquiry_event", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiry_event_inquiry_at")

    op.drop_table("inquiry_event")
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiry_submitted")
        batch_op.drop_index("ix_inquiry_status_submitted")
        batch_op.drop_index("ix_inquiry_status_intent_submitted")
        batch_op.drop_index("ix_inquiry_province_city_submitted")
        batch_op.drop_index("ix_inquiry_owner_created")
        batch_op.drop_index("ix_inquiry_mobile")
        batch_op.drop_index("ix_inquiry_landline")
        batch_op.drop_index("ix_inquiry_email")
        batch_op.drop_index("ix_inquiry_company")
        batch_op.drop_index("ix_inquiry_assignee_status")

    op.drop_table("inquiry")
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.drop_index("ix_account_event_user_at")

    op.drop_table("account_event")
    op.drop_table("user_account")
    op.drop_table("serial_counter")
