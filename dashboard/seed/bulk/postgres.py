"""PostgreSQL: the load with ``COPY``, the foreign keys dropped with the indexes, and the
indexes rebuilt in several sessions at once."""

from __future__ import annotations

import threading
from contextlib import closing
from typing import Any

from dashboard import rollup
from dashboard.bulkload import quoted
from dashboard.seed.bulk.base import INQUIRY_COLUMNS, BulkLoad, if_not_exists

INDEX_SESSIONS = 2  # sessions rebuilding the indexes after a bulk load
#: Moves the sequence of inquiry ids past the ids a load wrote itself.
SYNC_SEQUENCE = (
    "SELECT setval(pg_get_serial_sequence('inquiry', 'id'), "
    "(SELECT COALESCE(MAX(id), 1) FROM inquiry))"
)


class PostgresLoad(BulkLoad):
    """``COPY … FROM STDIN``; the foreign keys dropped with the indexes, and the indexes rebuilt
    in INDEX_SESSIONS sessions at once."""

    MARK = "%s"
    #: COPY writes the ids itself: the id sequence moves past them at the end.
    ALSO_JOURNALED = (("sequence", "inquiry.id", SYNC_SEQUENCE),)

    def _configure(self, cur: Any) -> None:
        self.dbapi.commit()
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '256MB'")
        self.dbapi.commit()

    def _droppable(self, cur: Any) -> list[tuple[str, str, str, str]]:
        """The foreign keys go too and come back at the end, checked by one join each instead of
        a trigger per row (several times faster for the audit events)."""
        cur.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid IN ('inquiry'::regclass, 'inquiry_event'::regclass) "
            "AND NOT i.indisunique AND NOT i.indisprimary"
        )
        out = [("index", name, "DROP INDEX " + quoted(name), ddl) for name, ddl in cur.fetchall()]
        cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid IN ('inquiry'::regclass, 'inquiry_event'::regclass)"
        )
        for table, name, ddl in cur.fetchall():
            drop = f"ALTER TABLE {table} DROP CONSTRAINT {quoted(name)}"
            out.append(
                (
                    "constraint",
                    name,
                    drop,
                    f"ALTER TABLE {table} ADD CONSTRAINT {quoted(name)} {ddl}",
                )
            )
        return out

    def restore_indexes(self) -> None:
        """The indexes in parallel sessions, then the foreign keys, which use them."""
        self.dbapi.commit()  # no lock of the load may stand in the other sessions' way
        self._create_indexes_in_parallel(
            [create for kind, _, _, create in self.dropped if kind == "index"]
        )
        with closing(self.dbapi.cursor()) as cur:
            for kind, _, _, create in self.dropped:
                if kind == "constraint":
                    cur.execute(create)
        self.dbapi.commit()
        self.dropped = []

    def _create_indexes_in_parallel(self, statements: list[str]) -> None:
        """Build the indexes in INDEX_SESSIONS sessions at once, each taking the next from a
        queue, the GIN trigram indexes first (the slowest, and single-threaded where PostgreSQL
        builds a B-tree with parallel workers). Each index is committed as it is made."""
        queue = [if_not_exists(c) for c in statements]
        queue.sort(key=lambda c: " USING gin " not in c)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def work(dbapi: Any) -> None:
            cur = dbapi.cursor()
            try:
                while not errors:
                    with lock:
                        if not queue:
                            return
                        statement = queue.pop(0)
                    cur.execute(statement)
                    dbapi.commit()
            except BaseException as err:  # re-raised below, in the calling thread
                dbapi.rollback()
                errors.append(err)
            finally:
                cur.close()

        extra = []  # (pool connection, its DBAPI connection), detached: closed at the end
        try:
            for _ in range(INDEX_SESSIONS - 1):
                conn = self.engine.raw_connection()
                extra.append((conn, conn.driver_connection))
                conn.detach()  # the setting below must not leak into the pool
                with extra[-1][1].cursor() as cur:
                    cur.execute("SET maintenance_work_mem = '256MB'")
                extra[-1][1].commit()
            threads = [
                threading.Thread(target=work, args=(dbapi,), name="seed-index")
                for _, dbapi in extra
            ]
            for thread in threads:
                thread.start()
            work(self.dbapi)
            for thread in threads:
                thread.join()
        finally:
            for conn, _ in extra:
                conn.close()
        if errors:
            raise errors[0]

    def insert_inquiries(self, rows: list[tuple]) -> None:
        cols = ", ".join(INQUIRY_COLUMNS)
        text = "\n".join("\t".join(r"\N" if v is None else str(v) for v in row) for row in rows)
        with (
            closing(self.dbapi.cursor()) as cur,
            cur.copy(f"COPY inquiry ({cols}) FROM STDIN") as copy,
        ):
            copy.write(text + "\n")

    def _create_staging(self, cur: Any, table: str, like_table: str, cols: tuple[str, ...]) -> None:
        # The rollup table's own column types: COPY then writes each value as the upsert needs it.
        columns = ", ".join(cols)
        sql = f"CREATE TEMP TABLE {table} AS SELECT {columns}, n FROM {like_table} WITH NO DATA"
        cur.execute(sql)

    def _write_rows(self, cur: Any, target: str, rows: list[tuple]) -> None:
        with cur.copy("COPY " + target + " FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def analyze(self) -> None:
        """VACUUM, not only ANALYZE: it sets the visibility map, without which PostgreSQL cannot
        count from an index alone."""
        self.dbapi.commit()
        self.dbapi.autocommit = True
        try:
            with closing(self.dbapi.cursor()) as cur:
                cur.execute("VACUUM (ANALYZE) inquiry")
                cur.execute("VACUUM (ANALYZE) inquiry_event")
                for table in rollup.TABLES:  # rebuilt: statistics for the planner
                    cur.execute("VACUUM (ANALYZE) " + table)
        finally:
            self.dbapi.autocommit = False

    def clear_journal(self) -> None:
        """Also moves the id sequence past the ids the load wrote, after an error too: the app's
        next inquiry would otherwise take an id that is already there."""
        with closing(self.dbapi.cursor()) as cur:
            cur.execute(SYNC_SEQUENCE)
        super().clear_journal()
