"""Contains-search for the triage page (询保流水号, 公司名称, 联系人, 联系手机, 联系固话, 联系邮箱).

SQLite: an FTS5 table with the ``trigram`` tokenizer over the six columns, an external-content
index of ``inquiry`` (rowid = inquiry.id), kept in step by triggers on insert, update and delete
and filled from the rows already there. It also indexes ``status`` and ``intent``, so that the total
and the facet counts of a search come from the index alone. A term of 3+ characters is answered from the index with
``MATCH``; shorter terms fall back to ``LIKE`` (correct, not indexed).

PostgreSQL: ``pg_trgm`` and one GIN trigram index per column; ``ILIKE '%term%'`` uses them.

Revision ID: 0002_search
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_search"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

COLUMNS = ("serial", "company_name", "contact_name", "mobile", "landline", "email")
# status and intent ride along (never searched by the user) so that a search's total and its
# facet counts are answered from the index alone, without visiting the matched rows.
FTS_COLUMNS = (*COLUMNS, "status", "intent")
_COLS = ", ".join(FTS_COLUMNS)
_NEW = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in FTS_COLUMNS)

# The AFTER INSERT trigger is a plain INSERT … VALUES, so the bulk seeder can run it set-based.
SQLITE_UP = [
    f"CREATE VIRTUAL TABLE inquiry_fts USING fts5({_COLS}, content='inquiry', "
    "content_rowid='id', tokenize='trigram')",
    f"""CREATE TRIGGER inquiry_fts_ai AFTER INSERT ON inquiry BEGIN
  INSERT INTO inquiry_fts(rowid, {_COLS}) VALUES (new.id, {_NEW});
END""",
    f"""CREATE TRIGGER inquiry_fts_ad AFTER DELETE ON inquiry BEGIN
  INSERT INTO inquiry_fts(inquiry_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD});
END""",
    # Only when an indexed column changes (not on assignment or version bumps).
    f"""CREATE TRIGGER inquiry_fts_au AFTER UPDATE OF {_COLS} ON inquiry BEGIN
  INSERT INTO inquiry_fts(inquiry_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD});
  INSERT INTO inquiry_fts(rowid, {_COLS}) VALUES (new.id, {_NEW});
END""",
    "INSERT INTO inquiry_fts(inquiry_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS inquiry_fts_au",
    "DROP TRIGGER IF EXISTS inquiry_fts_ad",
    "DROP TRIGGER IF EXISTS inquiry_fts_ai",
    "DROP TABLE IF EXISTS inquiry_fts",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    # The extension may already exist in another schema (tests: search_path "<schema>,public").
    op.execute(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN "
        "CREATE EXTENSION pg_trgm; END IF; END $$"
    )
    for column in COLUMNS:
        op.create_index(
            f"ix_inquiry_{column}_trgm",
            "inquiry",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    for column in COLUMNS:
        op.drop_index(f"ix_inquiry_{column}_trgm", table_name="inquiry", if_exists=True)
