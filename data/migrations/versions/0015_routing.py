"""Routing: ``team`` and ``team_member`` (named groups of staff), ``routing_rule`` (province, city,
intent → team) and ``routing_event`` (who changed them), read by ``dashboard.routing``.

New tables only: ``user_account`` is not altered (on SQLite a batch would copy it and lose the
expression index on lower(username)).

Revision ID: 0015_routing
Revises: 0014_notification
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_routing"
down_revision = "0014_notification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=50), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "team_member",
        sa.Column(
            "team_id",
            sa.Integer(),
            sa.ForeignKey("team.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_team_member_user", "team_member", ["user_id"])
    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("team.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("province_code", "city_code", "intent", name="uq_routing_rule_scope"),
    )
    op.create_table(
        "routing_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
    )
    op.create_index("ix_routing_event_at", "routing_event", ["at"])


def downgrade() -> None:
    op.drop_index("ix_routing_event_at", table_name="routing_event")
    op.drop_table("routing_event")
    op.drop_table("routing_rule")
    op.drop_index("ix_team_member_user", table_name="team_member")
    op.drop_table("team_member")
    op.drop_table("team")
