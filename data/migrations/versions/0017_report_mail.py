"""``notification`` carries an attachment: the weekly report that ``python -m dashboard report
--mail`` queues to every active manager (``dashboard.notify.queue_report``) goes out with the
self-contained HTML report file attached. ``attachment_name`` is the file name the mail shows,
``attachment_type`` its MIME type (``text/html``), ``attachment`` the file's bytes; all three
are NULL on the mails without one.

Revision ID: 0017
Revises: 0016_personal_data
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016_personal_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs of nullable columns: in place on both backends, the rows already there
    # are mails without an attachment.
    op.add_column(
        "notification", sa.Column("attachment_name", sa.String(length=255), nullable=True)
    )
    op.add_column(
        "notification", sa.Column("attachment_type", sa.String(length=100), nullable=True)
    )
    op.add_column("notification", sa.Column("attachment", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place.
    op.drop_column("notification", "attachment")
    op.drop_column("notification", "attachment_type")
    op.drop_column("notification", "attachment_name")
