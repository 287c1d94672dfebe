"""SQLite: the load on the driver's own connection, with the search index's insert trigger
suspended and a first search index built beside (``fts``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from typing import Any

from sqlalchemy.engine import Engine

from dashboard import bulkload
from dashboard.bulkload import quoted
from dashboard.queries.search import SHORT_TABLE, register_sql_functions
from dashboard.seed.bulk import fts
from dashboard.seed.bulk.base import INQUIRY_COLUMNS, BulkLoad, if_not_exists

#: The insert trigger of the index of 1–2 character terms (migration 0018), and what replaces it
#: for a load: the same text computed in Python (``search.short_tokens``, registered on the
#: connection as ``inquiry_short_tokens``), several times faster than the trigger's SQL; per
#: chunk, beside the load when the index starts empty. Its table has no content, which FTS5
#: cannot rebuild: a load killed before the copy is undone by ``SHORT_FILL`` over every row.
SHORT_TRIGGER = SHORT_TABLE + "_ai"
SHORT_FILL = (
    f"INSERT INTO {SHORT_TABLE}(rowid, grams) SELECT id, inquiry_short_tokens(status, intent, "
    "serial, company_name, contact_name, mobile, landline, email) FROM inquiry"
)
SHORT_CHUNK = SHORT_FILL + " WHERE id BETWEEN ? AND ?"


def _database_file(cur: Any) -> str | None:
    """The file of the main database, or None for an in-memory one."""
    cur.execute("PRAGMA database_list")
    return bulkload.main_file(cur.fetchall())


class SqliteLoad(BulkLoad):
    """``executemany`` of tuples, with settings that only this connection uses (it is taken out
    of the pool and closed at the end)."""

    def __init__(self, engine: Engine, **options: Any) -> None:
        self.suspended: list[str] = []  # DDL of the triggers dropped for the load
        self.per_chunk: list[str] = []  # their statements, run set-based after each chunk
        self.automerge: dict[str, int] = {}  # FTS5 table → its automerge setting before
        self.side: fts.SideIndexes | None = None  # empty full-text indexes built beside the load
        super().__init__(engine, **options)

    def _configure(self, cur: Any) -> None:
        register_sql_functions(self.dbapi)
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-400000")  # up to ~400 MB of page cache
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA busy_timeout=15000")

    def begin(self) -> None:
        self.dbapi.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.dbapi.execute("COMMIT")

    def rollback(self) -> None:
        if self.dbapi.in_transaction:
            self.dbapi.execute("ROLLBACK")

    def _take_away(self) -> None:
        self.drop_indexes()
        self.suspend_insert_triggers()
        with closing(self.dbapi.cursor()) as cur:
            self.automerge = fts.relax_merging(cur)
        self.suspend_rollup()

    def _restore_steps(self, ok: bool, day_rows: Future | None) -> list[Callable[[], None]]:
        return [
            *super()._restore_steps(ok, day_rows),
            lambda: self.put_back_side(copy=ok),
            self.restore_triggers,
            self.restore_fts_merging,
        ]

    def _droppable(self, cur: Any) -> list[tuple[str, str, str, str]]:
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('inquiry', 'inquiry_event') AND sql NOT LIKE 'CREATE UNIQUE%'"
        )
        return [("index", name, "DROP INDEX " + quoted(name), ddl) for name, ddl in cur.fetchall()]

    def restore_indexes(self) -> None:
        """Each index commits as it is made."""
        with closing(self.dbapi.cursor()) as cur:
            for *_, create in self.dropped:
                cur.execute(if_not_exists(create))
        self.dropped = []

    def suspend_insert_triggers(self) -> None:
        """Replace simple ``AFTER INSERT ON inquiry`` triggers (``fts.set_based``: the search
        index's) by the same statements run once per chunk as ``INSERT … SELECT … FROM inquiry
        AS new``: fired row by row into an FTS5 trigram index they cost several times more.
        Statements into an FTS5 table that is still empty run beside the load instead."""
        suspended: list[tuple[str, str]] = []  # (name, DDL)
        per_chunk: list[str] = []
        beside: dict[str, list[str]] = {}  # empty FTS5 table → its statements
        with closing(self.dbapi.cursor()) as cur:
            self.begin()  # the drops and their journal rows, all or nothing
            cur.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'inquiry'"
            )
            for name, ddl in cur.fetchall():
                if name == SHORT_TRIGGER:
                    cur.execute("DROP TRIGGER " + quoted(name))
                    suspended.append((name, ddl))
                    if fts.is_empty_index(cur, SHORT_TABLE):
                        beside.setdefault(SHORT_TABLE, []).append(SHORT_CHUNK)
                    else:
                        per_chunk.append(SHORT_CHUNK)
                    continue
                statements = fts.set_based(ddl or "")
                if not statements:
                    continue
                cur.execute("DROP TRIGGER " + quoted(name))
                suspended.append((name, ddl))
                for sql in statements:
                    table = fts.target(sql)
                    if table is not None and fts.is_empty_index(cur, table):
                        beside.setdefault(table, []).append(sql)
                    else:
                        per_chunk.append(sql)
            self.side = self._side_index(cur, beside)
            if self.side is None:  # indexed here after all
                per_chunk += [sql for statements in beside.values() for sql in statements]
            journal = [("trigger", name, ddl) for name, ddl in suspended]
            # Killed before the copy, the real index must be rebuilt.
            journal += [
                ("rebuild", table, SHORT_FILL if table == SHORT_TABLE else "")
                for table in beside
                if self.side is not None
            ]
            bulkload.record(self.dialect, cur, self.owner, journal)
            self.commit()
        self.suspended = [ddl for _, ddl in suspended]
        self.per_chunk = per_chunk

    def _side_index(self, cur: Any, beside: dict[str, list[str]]) -> fts.SideIndexes | None:
        """The indexes built beside for ``beside``, or None: in an in-memory database, or with
        no room for a scratch file."""
        path = _database_file(cur)
        if not beside or not path:
            return None
        try:
            return fts.SideIndexes(path, cur, beside, prepare=register_sql_functions)
        except (OSError, sqlite3.Error):
            return None

    def _chunk_inserted(self, first: int, last: int) -> None:
        with closing(self.dbapi.cursor()) as cur:
            for sql in self.per_chunk:
                cur.execute(sql, (first, last))

    def _chunk_committed(self, first: int, last: int) -> None:
        if self.side is not None:  # indexed beside, now that the rows are committed
            self.side.submit(first, last)

    def put_back_side(self, *, copy: bool) -> None:
        """Copy the indexes built beside into the database; or instead (after an error, or when
        the copy fails) index the rows committed here: the real indexes were empty, so they then
        hold exactly the rows that are there."""
        side, self.side = self.side, None
        if side is None:
            return
        copied = False
        try:
            if copy:
                side.copy_into(self.dbapi)
                copied = True
        finally:
            side.close()
            if not copied:
                side.redo_on(self.dbapi)

    def restore_triggers(self) -> None:
        with closing(self.dbapi.cursor()) as cur:
            for ddl in self.suspended:
                cur.execute(ddl)
        self.suspended = []
        self.per_chunk = []

    def restore_fts_merging(self) -> None:
        with closing(self.dbapi.cursor()) as cur:
            fts.set_merging(cur, self.automerge)
        self.automerge = {}

    def insert_inquiries(self, rows: list[tuple]) -> None:
        cols = ", ".join(INQUIRY_COLUMNS)
        marks = ", ".join("?" * len(INQUIRY_COLUMNS))
        with closing(self.dbapi.cursor()) as cur:
            self.begin()
            cur.executemany(f"INSERT INTO inquiry ({cols}) VALUES ({marks})", rows)

    def _create_staging(self, cur: Any, table: str, like_table: str, cols: tuple[str, ...]) -> None:
        cur.execute("CREATE TEMP TABLE " + table + " (" + ", ".join(cols) + ", n)")

    def _write_rows(self, cur: Any, target: str, rows: list[tuple]) -> None:
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            cur.executemany("INSERT INTO " + target + " VALUES (" + marks + ")", rows)

    def analyze(self) -> None:
        # Whole indexes, not a sample (analysis_limit=1000 before): sampled statistics put every
        # key of ix_inquiry_status_intent_submitted and ix_inquiry_province_submitted_cover at
        # about 1,000 rows, and the planner then counted a province's 已提交 inquiries through the
        # status index, one row lookup each (38 ms at 1M rows against 9 ms through the covering
        # province index). Right after the load the indexes are in the page cache: about 1 s at
        # 1M rows (BENCHMARKS.md, fifth session).
        with closing(self.dbapi.cursor()) as cur:
            cur.execute("PRAGMA analysis_limit=0")
            cur.execute("ANALYZE")
