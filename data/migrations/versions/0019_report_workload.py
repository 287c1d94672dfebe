"""report_workload: the whole country's completed inquiries by assignee and completion-hour
bucket, for 人员工作量.

That section read ``inquiry`` itself (one GROUP BY over the period's rows): at 1,000,000
inquiries 3.5 s for the last 12 months on SQLite, most of a period change on 统计报表. The rollup
counts completions by assignee (0: nobody) as it counts them by hour bucket in ``report_hours``;
the waiting inquiries, and which of them are overdue at the moment of reading, still come from
``inquiry`` (few rows), and so does one province's workload: counted by province too, the table
had more rows than ``inquiry`` (1.76 million at 1,000,000 inquiries) and every completion wrote
four of them, each on a page of its own.

As with 0003, this revision makes the table only: ``rollup.repair`` at the next start finds the
triggers differ from the description, replaces them and rebuilds every rollup table (fills this
one).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_workload",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hours", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "period", "intent", "assignee", "hours"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    # The triggers write to this table: drop them first (``rollup.repair`` at the next start of
    # the older code installs its own, without it).
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
    op.drop_table("report_workload")
