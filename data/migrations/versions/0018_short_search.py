"""Search terms of 1–2 characters through an index (a two-character name such as 张伟 is common;
no trigram index can answer it, so they read the whole table: ~0.8 s at 1,000,000 inquiries).

SQLite: ``inquiry_fts_short``, an FTS5 table without content (``detail=none``: only which rows hold
a token) whose one column holds, per inquiry, a token for every character and for every pair of
adjacent characters of the six searched columns, joined by U+001F (which no search term holds), in
SQLite's ``lower`` (ASCII letters, as ``LIKE`` compares them), each token the characters' UTF-8
bytes in hex (FTS5's ``ascii`` tokenizer splits on spaces only then); first ``xd`` (a draft) or
``xn`` (any other status) and ``xi<intent>``, so that a staff search's capped count comes from the
index alone, as with ``inquiry_fts``. Only draft-or-not, not the status: the update trigger then
fires only when the indexed text, the intent or draft-ness changes (its ``WHEN``), not when an
inquiry is assigned or completed; each firing computes the row's tokens twice in SQL (the old text
to forget, a table without content forgets a row only when given its tokens again; the new to
add), about 0.1 ms each. A status filter on a 1–2 character search is checked on the rows.

The rows already there are indexed by ``_tokens``, a frozen Python twin of the triggers' text,
several times faster than their SQL (about 45 s at a million inquiries).
``dashboard.queries.search.short_tokens`` is the live one, used by the bulk load; a test holds the
three equal.

PostgreSQL: ``inquiry_search_chars(...)``, the characters of the six columns in ``lower`` as an
array, and a GIN index on it, ``ix_inquiry_search_chars``: a term's rows are those holding all its
characters, checked again with ``ILIKE`` (which lower-cases both sides the same way). PostgreSQL
keeps an expression index itself; the bulk load rebuilds it with the other indexes. Pairs of
characters would need a per-character loop in SQL (about 100 µs a row: minutes at a million).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLE = "inquiry_fts_short"
COLUMNS = ("serial", "company_name", "contact_name", "mobile", "landline", "email")


def tokens_sql(row: str) -> str:
    """The indexed text of ``row`` (``new`` or ``old``) in SQL: ``json_each`` over a list of
    ``length`` zeros numbers the characters (no table of numbers, no length limit)."""
    text = "lower(" + " || char(31) || ".join(f"{row}.{c}" for c in COLUMNS) + ")"
    return (
        f"CASE WHEN {row}.status = 'draft' THEN 'xd' ELSE 'xn' END "
        f"|| ' xi' || replace({row}.intent, '_', '') || ' ' || "
        "(SELECT group_concat(hex(substr(x.v, j.key + 1, 1)) || ' ' || "
        "hex(substr(x.v, j.key + 1, 2)), ' ') "
        f"FROM (SELECT {text} AS v) AS x, "
        "json_each('[' || substr(replace(hex(zeroblob(length(x.v))), '00', ',0'), 2) || ']') AS j)"
    )


def _tokens(status, intent, *columns):
    """``tokens_sql`` in Python, for the fill."""
    if status is None or intent is None or None in columns:
        return None
    chars = [c.encode().hex().upper() for c in "\x1f".join(columns).encode().lower().decode()]
    pairs = " ".join(a + " " + a + b for a, b in zip(chars, [*chars[1:], ""], strict=True))
    return ("xd" if status == "draft" else "xn") + " xi" + intent.replace("_", "") + " " + pairs


_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in (*COLUMNS, "intent"))
SQLITE_UP = [
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(grams, content='', detail=none, columnsize=0, "
    "tokenize='ascii')",
    f"""CREATE TRIGGER {TABLE}_ai AFTER INSERT ON inquiry BEGIN
  INSERT INTO {TABLE}(rowid, grams) VALUES (new.id, {tokens_sql("new")});
END""",
    f"""CREATE TRIGGER {TABLE}_ad AFTER DELETE ON inquiry BEGIN
  INSERT INTO {TABLE}({TABLE}, rowid, grams) VALUES ('delete', old.id, {tokens_sql("old")});
END""",
    f"""CREATE TRIGGER {TABLE}_au AFTER UPDATE OF {", ".join((*COLUMNS, "status", "intent"))}
ON inquiry WHEN {_CHANGED} OR (old.status = 'draft') IS NOT (new.status = 'draft') BEGIN
  INSERT INTO {TABLE}({TABLE}, rowid, grams) VALUES ('delete', old.id, {tokens_sql("old")});
  INSERT INTO {TABLE}(rowid, grams) VALUES (new.id, {tokens_sql("new")});
END""",
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {TABLE}_au",
    f"DROP TRIGGER IF EXISTS {TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {TABLE}_ai",
    f"DROP TABLE IF EXISTS {TABLE}",
]
FILL = (
    f"INSERT INTO {TABLE}(rowid, grams) SELECT id, inquiry_short_tokens_0018(status, intent, "
    + ", ".join(COLUMNS)
    + ") FROM inquiry"
)

PG_FUNCTION = (
    "CREATE FUNCTION inquiry_search_chars(serial text, company_name text, contact_name text, "
    "mobile text, landline text, email text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT string_to_array(lower(serial || chr(31) || company_name || "
    "chr(31) || contact_name || chr(31) || mobile || chr(31) || landline || chr(31) || email), "
    "NULL) $$"
)
PG_INDEX = (
    "CREATE INDEX ix_inquiry_search_chars ON inquiry USING gin "
    "(inquiry_search_chars(" + ", ".join(COLUMNS) + "))"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        dbapi = bind.connection.driver_connection
        dbapi.create_function("inquiry_short_tokens_0018", 8, _tokens, deterministic=True)
        op.execute(FILL)
        return
    op.execute(PG_FUNCTION)
    op.execute(PG_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    op.execute("DROP INDEX IF EXISTS ix_inquiry_search_chars")
    op.execute("DROP FUNCTION IF EXISTS inquiry_search_chars(text, text, text, text, text, text)")
