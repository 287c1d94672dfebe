"""Performance index for the triage filters (measured by ``python -m bench``, see BENCHMARKS.md).

``ix_inquiry_province_submitted_cover`` (province_code, submitted_at, status, intent) serves the
triage list filtered by province (and intent) over a date range, newest first: the range is read
in index order, status and intent are checked inside the index, and the total count never
touches the table. At 1,000,000 inquiries the filtered count took 35 ms on SQLite and 30 ms on
PostgreSQL through ``ix_inquiry_province_city_submitted`` (whose city column sits between the
province and the date); with this index 1–3 ms.

Revision ID: 0005_perf_indexes
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0005_perf_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_inquiry_province_submitted_cover",
        "inquiry",
        ["province_code", "submitted_at", "status", "intent"],
    )


def downgrade() -> None:
    op.drop_index("ix_inquiry_province_submitted_cover", table_name="inquiry")
