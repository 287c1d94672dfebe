"""Index for the possible duplicates of an inquiry (同名企业 / 同一手机 / 同一邮箱 in 咨询处理).

``queries.possible_duplicates`` looks up each of company_name, mobile and email separately, newest
first, ``LIMIT 20`` each. Mobile numbers and e-mail addresses repeat a few times at most, so
``ix_inquiry_mobile`` and ``ix_inquiry_email`` answer their lookups at once; a company name
repeats up to ~1,700 times in the 1,000,000-row benchmark data, and through ``ix_inquiry_company``
PostgreSQL fetched every one of those rows to sort them by date (60 ms). With
``ix_inquiry_company_submitted`` (company_name, submitted_at, id) the lookup reads the newest 20
entries of the company in index order (< 1 ms). ``id`` is in the key so that PostgreSQL needs no
sort for the ``submitted_at DESC, id DESC`` tie-break (SQLite has the rowid there anyway).

Revision ID: 0006_duplicate_lookup
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0006_duplicate_lookup"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_inquiry_company_submitted", "inquiry", ["company_name", "submitted_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_inquiry_company_submitted", table_name="inquiry")
