"""SQLite: the search index (FTS5) during a bulk load.

A trigger keeps the index in step with ``inquiry``, row by row; a bulk load replaces it by the
same statement run once per chunk over a range of ids (``set_based``), lets the index merge its
segments less eagerly (``relax_merging``), and builds an index that starts empty beside the
database, on the other core (``SideIndex``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from dashboard import bulkload
from dashboard.bulkload import quoted

FTS5_DEFAULT_AUTOMERGE = 4
#: While loading: merge segments 16 at a time instead of 4. Indexing is faster that way, and
#: searches afterwards are as fast (measured on the trigram index of 0002_search).
LOAD_AUTOMERGE = 16

# The statements are read from the trigger stored in the database, not spelled out again here:
# the migration that made the trigger stays the one definition of what indexing a row means. Only
# the plainest shape is taken (AFTER INSERT, no WHEN, bodies of ``INSERT … VALUES (…)`` without
# string literals); any other trigger is left in place to fire row by row, so a shape this does
# not understand costs speed, never correctness.
_TRIGGER = re.compile(
    r"\s*CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+AFTER\s+INSERT\s+ON\s+"
    r"[\"`\[]?inquiry[\"`\]]?\s+(?:FOR\s+EACH\s+ROW\s+)?BEGIN\s+(?P<body>.*?)\s*END\s*",
    re.I | re.S,
)
_INSERT_VALUES = re.compile(
    r"(?P<head>INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[^\s(]+\s*\([^()]*\))\s*VALUES\s*\((?P<values>.*)\)",
    re.I | re.S,
)
_TARGET = re.compile(r"INSERT\s+INTO\s+(?P<name>[\w$]+)\s*\(", re.I)


def set_based(trigger_ddl: str) -> list[str] | None:
    """The body of a simple AFTER INSERT trigger as set-based statements over a range of ids
    (two parameters), or None when the trigger has any other shape."""
    match = _TRIGGER.fullmatch(trigger_ddl)
    if not match or "'" in match["body"] or '"' in match["body"]:
        return None
    out = []
    for statement in filter(None, (s.strip() for s in match["body"].split(";"))):
        insert = _INSERT_VALUES.fullmatch(statement)
        if not insert:
            return None
        out.append(
            f"{insert['head']} SELECT {insert['values']} FROM inquiry AS new "
            "WHERE new.id BETWEEN ? AND ?"
        )
    return out or None


def target(statement: str) -> str | None:
    """The table a set-based ``INSERT INTO name (…) SELECT …`` writes to (unquoted names only)."""
    match = _TARGET.match(statement)
    return match["name"] if match else None


def is_empty_index(cur: Any, table: str) -> bool:
    """Whether ``table`` is an FTS5 table (of the main database) whose index holds nothing."""
    cur.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? AND sql LIKE "
        "'%USING fts5%'",
        (table,),
    )
    if cur.fetchone() is None:
        return False
    cur.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
        (table + "_idx", table + "_docsize"),
    )
    for (shadow,) in cur.fetchall():
        cur.execute("SELECT 1 FROM " + quoted(shadow) + " LIMIT 1")
        if cur.fetchone() is not None:
            return False
    return True


def automerge_sql(fts_table: str) -> str:
    """The FTS5 command setting a table's ``automerge`` (the value is bound)."""
    table = quoted(fts_table)
    return "INSERT INTO " + table + " (" + table + ", rank) VALUES ('automerge', ?)"


def relax_merging(cur: Any) -> dict[str, int]:
    """Set every FTS5 table's ``automerge`` to LOAD_AUTOMERGE; returns the settings before, for
    ``set_merging``. A load killed in between leaves the relaxed setting, which only changes how
    lazily later writes merge."""
    before: dict[str, int] = {}
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'")
    for (name,) in cur.fetchall():
        cur.execute("SELECT v FROM " + quoted(name + "_config") + " WHERE k = 'automerge'")
        row = cur.fetchone()
        before[name] = int(row[0]) if row else FTS5_DEFAULT_AUTOMERGE
        cur.execute(automerge_sql(name), (LOAD_AUTOMERGE,))
    return before


def set_merging(cur: Any, settings: dict[str, int]) -> None:
    for name, value in settings.items():
        cur.execute(automerge_sql(name), (value,))


class SideIndex:
    """The full-text indexes of a first bulk load, built on a second connection in a temporary
    database beside the real one, then copied in whole.

    One SQLite database has one writer at a time, so indexing every row into FTS5 (a large share
    of the load) would otherwise wait for, and hold up, the inserts, the audit events and the
    index rebuilds. Here it runs at the same time on the machine's other core: each chunk is
    indexed once it is committed, reading the rows from the real database (attached; in WAL mode
    a reader does not block the writer). At the end the index's shadow tables (``_data``,
    ``_idx``, ``_docsize``; ``_content`` for a table holding its own copy) replace the real
    table's, which were empty; ``_config`` stays the real table's own. The index is the one the
    statements would have made on the real connection: the same statements over the same rows in
    the same chunks.
    """

    SOURCE = "seed_source"

    def __init__(
        self,
        database: str,
        cur: Any,
        statements: dict[str, list[str]],
        prepare: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        self.statements = statements
        directory = os.path.dirname(os.path.abspath(database))
        bulkload.remove_orphans(directory)
        handle, self.path = tempfile.mkstemp(
            prefix=bulkload.SCRATCH_PREFIX + str(os.getpid()) + "-", suffix=".db", dir=directory
        )
        os.close(handle)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-fts")
        self.pending: list[Future] = []
        self.first_id: int | None = None  # of the first chunk handed over
        self.conn: sqlite3.Connection | None = None
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=15
            )
            if prepare is not None:  # e.g. the SQL functions the statements call
                prepare(self.conn)
            self.conn.execute("PRAGMA journal_mode=OFF")  # a scratch file: nothing to recover
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-200000")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute("ATTACH DATABASE ? AS " + self.SOURCE, (database,))
            for table in statements:
                cur.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
                self.conn.execute(cur.fetchone()[0])
                self.conn.execute(automerge_sql(table), (LOAD_AUTOMERGE,))
        except BaseException:
            self.close()
            raise

    def submit(self, first_id: int, last_id: int) -> None:
        """Index the rows ``first_id..last_id`` (committed already) in the background."""
        if self.first_id is None:
            self.first_id = first_id
        self.pending.append(self.pool.submit(self._index, first_id, last_id))

    def _index(self, first_id: int, last_id: int) -> None:
        self.conn.execute("BEGIN")
        for statements in self.statements.values():
            for sql in statements:
                self.conn.execute(sql, (first_id, last_id))
        self.conn.execute("COMMIT")

    def wait(self) -> None:
        for future in self.pending:
            future.result()
        self.pending = []

    def copy_into(self, conn: sqlite3.Connection) -> None:
        """Replace the (empty) indexes of the real database by the ones built here."""
        self.wait()
        self.conn.execute("DETACH DATABASE " + self.SOURCE)
        conn.execute("ATTACH DATABASE ? AS seed_fts", (self.path,))
        try:
            conn.execute("BEGIN IMMEDIATE")
            for table in self.statements:
                shadows = conn.execute(
                    "SELECT name FROM seed_fts.sqlite_master WHERE type = 'table' AND name IN "
                    "(?, ?, ?, ?)",
                    tuple(table + suffix for suffix in ("_data", "_idx", "_docsize", "_content")),
                ).fetchall()
                for (shadow,) in shadows:
                    name = quoted(shadow)
                    conn.execute("DELETE FROM main." + name)
                    conn.execute("INSERT INTO main." + name + " SELECT * FROM seed_fts." + name)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("DETACH DATABASE seed_fts")

    def redo_on(self, conn: sqlite3.Connection) -> None:
        """Instead of ``copy_into``: index the rows this load committed on the real connection
        (the real indexes were empty, so they then hold exactly the rows that are there)."""
        if self.first_id is None:
            return
        conn.execute("BEGIN IMMEDIATE")
        for statements in self.statements.values():
            for sql in statements:
                conn.execute(sql, (self.first_id, 2**62))
        conn.execute("COMMIT")

    def close(self) -> None:
        """Stop and remove the scratch database (after ``copy_into``, or instead of it)."""
        for future in self.pending:
            future.cancel()
        self.pool.shutdown()
        if self.conn is not None:
            self.conn.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path + suffix)


class SideIndexes:
    """Several indexes built beside, each by its own ``SideIndex`` (a scratch database and a
    thread of its own), so that one index's work does not wait for the other's. SQLite runs
    without the GIL; the text of the index of 1–2 character terms is made in Python, with it,
    so that index's thread also slows the load's own Python (BENCHMARKS.md: at a million rows
    the seed is a third slower than without that index)."""

    def __init__(
        self, database: str, cur: Any, statements: dict[str, list[str]], **options
    ) -> None:
        """``statements`` per index; ``options`` are each ``SideIndex``'s."""
        self.sides: list[SideIndex] = []
        try:
            for table, of_table in statements.items():
                self.sides.append(SideIndex(database, cur, {table: of_table}, **options))
        except BaseException:
            self.close()
            raise

    def submit(self, first_id: int, last_id: int) -> None:
        for side in self.sides:
            side.submit(first_id, last_id)

    def copy_into(self, conn: sqlite3.Connection) -> None:
        for side in self.sides:
            side.copy_into(conn)

    def redo_on(self, conn: sqlite3.Connection) -> None:
        for side in self.sides:
            side.redo_on(conn)

    def close(self) -> None:
        for side in self.sides:
            side.close()
