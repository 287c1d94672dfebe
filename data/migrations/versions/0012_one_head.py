"""One head: the search index (0002), the performance indexes (0005) and the line that ends in
the login limits (0011) grew from 0001 side by side; from here on every migration follows the one
before it, and ``db.migrate`` upgrades to ``head``.

Revision ID: 0012_one_head
Revises: 0002_search, 0005_perf_indexes, 0011_login_source
"""

from __future__ import annotations

revision = "0012_one_head"
down_revision = ("0002_search", "0005_perf_indexes", "0011_login_source")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
