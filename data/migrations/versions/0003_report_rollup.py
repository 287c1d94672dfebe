"""Report rollup: day/week/month counts by province, city, intent, status and completion hours,
kept exact by triggers on ``inquiry`` (see dashboard/rollup.py) and filled from the rows already
there.

The report sections read these instead of ``inquiry``: at 1,000,000 inquiries a section took
0.1–4.5 s on SQLite scanning the table, and takes a few milliseconds on the rollup (BENCHMARKS.md).

Revision ID: 0003_report_rollup
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dashboard import rollup

revision = "0003_report_rollup"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_NO_ROWID = {"sqlite_with_rowid": False}


def upgrade() -> None:
    op.create_table(
        "report_count",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "period", "province_code", "intent", "status"),
        **_NO_ROWID,
    )
    op.create_index(
        "ix_report_count_province",
        "report_count",
        ["grain", "province_code", "period", "intent", "status", "n"],
    )
    op.create_table(
        "report_city",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "province_code", "period", "city_code", "intent"),
        **_NO_ROWID,
    )
    op.create_table(
        "report_hours",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "province_code", "period", "intent", "hours"),
        **_NO_ROWID,
    )
    conn = op.get_bind()
    rollup.create_triggers(conn)
    rollup.rebuild(conn)


def downgrade() -> None:
    rollup.drop_triggers(op.get_bind())
    op.drop_table("report_hours")
    op.drop_table("report_city")
    op.drop_index("ix_report_count_province", table_name="report_count")
    op.drop_table("report_count")
