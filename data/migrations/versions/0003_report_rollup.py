"""Report rollup: day/week/month counts by province, city, intent, status and completion hours,
kept exact by triggers on ``inquiry``.

This revision makes the tables only. Their triggers and their contents come from the live
description in dashboard/rollup.py: ``rollup.repair``, run by ``db.migrate`` after the migrations
at every start, installs the triggers when they are missing or differ from the description and
rebuilds the tables from the rows already there. So this file never changes with the rollup's code
and imports nothing from ``dashboard``.

The report sections read these instead of ``inquiry``: at 1,000,000 inquiries a section took
0.1–4.5 s on SQLite scanning the table, and takes a few milliseconds on the rollup (BENCHMARKS.md).

Revision ID: 0003_report_rollup
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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


def _drop_rollup_triggers() -> None:
    """Drop every trigger on ``inquiry`` named ``report_rollup*`` (whichever version of the
    rollup made them; on PostgreSQL with its function): they write to the tables dropped next."""
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'inquiry'"
        ).scalars()
        drops = ["DROP TRIGGER IF EXISTS {}"]
    else:
        names = conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'inquiry'::regclass AND NOT tgisinternal"
        ).scalars()
        drops = ["DROP TRIGGER IF EXISTS {} ON inquiry", "DROP FUNCTION IF EXISTS {}_fn()"]
    for name in [n for n in names if n.startswith("report_rollup")]:
        for drop in drops:
            conn.exec_driver_sql(drop.format(name))


def downgrade() -> None:
    _drop_rollup_triggers()
    op.drop_table("report_hours")
    op.drop_table("report_city")
    op.drop_index("ix_report_count_province", table_name="report_count")
    op.drop_table("report_count")
