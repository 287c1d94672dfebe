"""PostgreSQL: ``ix_inquiry_search_pairs``, the pairs of adjacent characters of the six searched
columns, so that a 2-character search reads only the rows holding that pair.

0018's index of single characters answers a 2-character term with the rows holding both of its
characters, each then checked with ``ILIKE``. For two common letters or digits that is most of the
table: at 1,000,000 inquiries ``hc`` (329 matches) had 637,489 candidates and took 700 ms. SQLite's
``inquiry_fts_short`` holds the pairs already.

``inquiry_search_pairs(...)``: the six columns joined by ``chr(31)``, in ``lower``, cut into
2-character pieces twice, from the first character and from the second, so that every pair of
adjacent characters is one piece of either cut (pieces holding ``chr(31)`` or a lone last
character are noise that no term matches). About 12 µs a row in C regular expressions, where a
loop over positions in SQL took 70–200 µs (0018). A search still checks every candidate with
``ILIKE``: the index only narrows the rows.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = ("serial", "company_name", "contact_name", "mobile", "landline", "email")
_JOINED = "lower(" + " || chr(31) || ".join(COLUMNS) + ")"
#: One expression (no FROM), so that PostgreSQL inlines it where it is used.
PG_FUNCTION = (
    "CREATE FUNCTION inquiry_search_pairs(serial text, company_name text, contact_name text, "
    "mobile text, landline text, email text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT string_to_array("
    f"regexp_replace({_JOINED}, '(..)', '\\1' || chr(29), 'g') || chr(29) || "
    f"regexp_replace(substr({_JOINED}, 2), '(..)', '\\1' || chr(29), 'g'), chr(29)) $$"
)
PG_INDEX = (
    "CREATE INDEX ix_inquiry_search_pairs ON inquiry USING gin "
    "(inquiry_search_pairs(" + ", ".join(COLUMNS) + "))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # About 50 s at 1,000,000 inquiries (103 MB; the timeouts are lifted in env.py). The memory
    # is what the bulk load gives its index builds, for this transaction only.
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(PG_FUNCTION)
    op.execute(PG_INDEX)
    # Statistics of the new expression now (~1 s at 1,000,000 inquiries), not at autovacuum's next
    # ANALYZE, which may be weeks away: without them the planner guesses how common a pair is.
    op.execute("ANALYZE inquiry")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_inquiry_search_pairs")
    op.execute("DROP FUNCTION IF EXISTS inquiry_search_pairs(text, text, text, text, text, text)")
