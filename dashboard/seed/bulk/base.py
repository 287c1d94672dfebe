"""What a load does on either backend, and in which order (see the package docstring)."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from datetime import date, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Engine

from dashboard import bulkload, rollup
from models import Inquiry

INQUIRY_COLUMNS = tuple(column.name for column in Inquiry.__table__.columns)
_CREATE_INDEX = re.compile(r"CREATE\s+INDEX\s+(?!IF\s+NOT\s+EXISTS\s)", re.I)
#: The audit trail of the inquiries with ids {a}..{b}, derived from their times: created, then
#: submitted and completed where they happened ({actor}: who completed those with no assignee).
_EVENTS = (
    "INSERT INTO inquiry_event "
    "(inquiry_id, actor_id, at, action, from_status, to_status, note) "
    "SELECT * FROM ("
    " SELECT id AS i, owner_id, created_at AS t, 'created', NULL, 'draft', ''"
    " FROM inquiry WHERE id BETWEEN {a} AND {b}"
    " UNION ALL SELECT id, owner_id, submitted_at, 'submitted', 'draft', 'submitted', ''"
    " FROM inquiry WHERE id BETWEEN {a} AND {b} AND submitted_at IS NOT NULL"
    " UNION ALL SELECT id, COALESCE(assignee_id, {actor}), completed_at, 'completed',"
    " 'submitted', 'completed', ''"
    " FROM inquiry WHERE id BETWEEN {a} AND {b} AND completed_at IS NOT NULL"
    ") AS ev ORDER BY i, t"
)


def if_not_exists(create_index: str) -> str:
    """``CREATE INDEX`` made to skip an index that is there already: one made in the meantime
    (a start of the app repairing a load it took for dead) or before a failure."""
    return _CREATE_INDEX.sub(r"\g<0>IF NOT EXISTS ", create_index, count=1)


class DayTally:
    """The rollup's day rows of the inquiries being loaded, counted as they are generated from
    the same epoch seconds the rows are written with (whole seconds, Shanghai = UTC+8)."""

    def __init__(self) -> None:
        self.count: dict[tuple, int] = {}
        self.city: dict[tuple, int] = {}
        self.hours: dict[tuple, int] = {}
        self.workload: dict[tuple, int] = {}

    def tables(self) -> dict[str, list[tuple]]:
        days: dict[int, str] = {}

        def rows(table: str, counter: dict[tuple, int]) -> list[tuple]:
            out = []
            for (day, *rest), n in counter.items():
                iso = days.get(day)
                if iso is None:
                    iso = days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
                out.append((iso, *rest, n))
            # In the order of the table's primary key (grain is 'd' for all of them).
            columns = rollup.DAY_COLUMNS[table]
            out.sort(key=itemgetter(*(columns.index(c) for c in rollup.KEY_COLUMNS[table][1:])))
            return out

        return {
            "report_count": rows("report_count", self.count),
            "report_city": rows("report_city", self.city),
            "report_hours": rows("report_hours", self.hours),
            "report_workload": rows("report_workload", self.workload),
        }


class BulkLoad:
    """What both backends share: the order of things (see the package docstring)."""

    MARK = "?"  # the driver's parameter marker
    #: Journaled with the drops, though nothing is dropped: (kind, name, statement).
    ALSO_JOURNALED: tuple[tuple[str, str, str], ...] = ()

    def __init__(
        self,
        engine: Engine,
        *,
        suspend: bool,
        fallback_actor: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.conn = engine.raw_connection()
        self.dbapi = self.conn.driver_connection
        self.conn.detach()  # the session settings of ``_configure`` must not leak into the pool
        with closing(self.dbapi.cursor()) as cur:
            self._configure(cur)
            self.owner = bulkload.owner(self.dialect, cur)  # of the journal rows of this load
        self.dbapi.commit()  # PostgreSQL: end the transaction that read it (SQLite: none is open)
        self.suspend = suspend
        self.tally = DayTally() if suspend else None  # filled by the caller, row by row
        self.fallback_actor = fallback_actor
        self.progress = progress
        self.dropped: list[tuple[str, str, str, str]] = []  # (kind, name, drop, create)
        self.rollup_suspended = False
        # Each chunk's rows are inserted by the caller's thread; the set-based rest of the chunk
        # (audit events, per-chunk index statements, commit) runs on this one while the caller
        # makes the next chunk: the driver releases the GIL for those statements. The insert
        # itself binds every row under the GIL, so beside the generator it ran several times
        # slower. The data stays deterministic: only the caller's thread draws numbers.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-writer")
        self._pending: Future | None = None

    # -- the load --------------------------------------------------------------------------

    def __enter__(self) -> BulkLoad:
        if self.suspend:
            try:
                self._take_away()
            except BaseException:
                self._end(ok=False)
                raise
        return self

    def write(self, rows: list[tuple]) -> None:
        """Insert ``rows`` (tuples in the order of INQUIRY_COLUMNS, ids ascending) as one chunk;
        its audit events and commit follow on the second thread."""
        self._wait()
        self.insert_inquiries(rows)
        first, last = rows[0][0], rows[-1][0]  # the ids
        self._pending = self._pool.submit(self._finish_chunk, first, last, len(rows))

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> None:
        try:
            self._wait(quiet=exc_type is not None)
        except BaseException:
            self._end(ok=False)
            raise
        self._end(ok=exc_type is None)

    def _take_away(self) -> None:
        self.drop_indexes()
        self.suspend_rollup()

    def _finish_chunk(self, first: int, last: int, count: int) -> None:
        self.insert_events(first, last)
        self._chunk_inserted(first, last)
        self.commit()
        self._chunk_committed(first, last)
        if self.progress:
            self.progress(count)

    def _chunk_inserted(self, first: int, last: int) -> None:
        """Hook: more statements over the chunk's ids, in its transaction."""

    def _chunk_committed(self, first: int, last: int) -> None:
        """Hook: after the chunk's commit."""

    def _wait(self, *, quiet: bool = False) -> None:
        """Wait for the chunk in flight; its error is raised unless ``quiet`` (already failing:
        the chunk must only stop before the connection is used again)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if quiet:
            pending.exception()
        else:
            pending.result()

    def _end(self, *, ok: bool) -> None:
        """Put back what the load took away, once, and close.

        ``ok``: every chunk was committed, so the rollup is rebuilt from the tally (and on SQLite
        the index built beside is copied in). Otherwise the unfinished chunk is rolled back and
        the rollup rebuilt from the table (and the rows committed are indexed here). A step that
        fails does not keep the others from running; the first failure is raised after them, and
        the journal then stays, for the next start to finish the job (``bulkload.repair``).
        """
        try:
            if not ok:
                self.rollback()
            day_rows = (
                self._pool.submit(self.tally.tables) if ok and self.tally is not None else None
            )
            failure = None
            for step in self._restore_steps(ok, day_rows):
                try:
                    step()
                except BaseException as err:  # raised below, once the other steps are done
                    self.rollback()
                    failure = failure or err
            if failure is not None:
                raise failure
            if ok:
                self.analyze()
            self.clear_journal()
        finally:
            self._pool.shutdown()
            self.close()

    def _restore_steps(self, ok: bool, day_rows: Future | None) -> list[Callable[[], None]]:
        """What ``_end`` puts back, in order (each a no-op when nothing was taken). The tally's
        day rows are made on the other core while this connection rebuilds the indexes."""
        return [
            self.restore_indexes,
            lambda: self.restore_rollup(day_rows.result() if day_rows is not None else None),
        ]

    # -- indexes and foreign keys ----------------------------------------------------------

    def drop_indexes(self) -> None:
        """Drop the non-unique indexes of the inquiry tables (whichever migrations made them) to
        rebuild them once at the end: sorting all the keys once is several times faster than
        inserting them one by one. Unique indexes stay, so duplicates still fail at once. The
        drops and their journal rows commit together."""
        with closing(self.dbapi.cursor()) as cur:
            self.begin()
            dropped = self._droppable(cur)
            for _, _, drop, _ in dropped:
                cur.execute(drop)
            journal = [(kind, name, create) for kind, name, _, create in dropped]
            bulkload.record(self.dialect, cur, self.owner, journal + list(self.ALSO_JOURNALED))
            self.commit()
        self.dropped = dropped  # once committed: a rollback would have put them back itself

    def _droppable(self, cur: Any) -> list[tuple[str, str, str, str]]:
        """(kind, name, drop, create) of what ``drop_indexes`` drops."""
        raise NotImplementedError

    def restore_indexes(self) -> None:
        raise NotImplementedError

    # -- report rollup ---------------------------------------------------------------------

    def suspend_rollup(self) -> None:
        """Drop the report-rollup triggers for the load (row by row they would cost more than the
        load itself); ``restore_rollup`` rebuilds the rollup set-based and puts them back. A load
        killed in between leaves them missing: ``rollup.repair`` (run at every start) notices and
        rebuilds."""
        with closing(self.dbapi.cursor()) as cur:
            self.begin()
            for statement in rollup.drop_trigger_ddl(self.dialect):
                cur.execute(statement)
            self.commit()
        self.rollup_suspended = True

    def restore_rollup(self, day_rows: dict[str, list[tuple]] | None = None) -> None:
        """Rebuild the rollup and recreate its triggers: from ``day_rows`` (``DayTally.tables``:
        the day rows of the rows just loaded) plus the derivation of the coarser rows, or without
        them (after an error) entirely from ``inquiry``."""
        if not self.rollup_suspended:
            return
        with closing(self.dbapi.cursor()) as cur:
            self.begin()
            # IF EXISTS drops first: a start of the app during the load may have repaired them.
            for statement in rollup.drop_trigger_ddl(self.dialect):
                cur.execute(statement)
            if day_rows is None:
                for statement in rollup.rebuild_statements(self.dialect):
                    cur.execute(statement)
            else:
                for table, rows in day_rows.items():
                    self._upsert_day_rows(cur, table, rows)
                for statement in rollup.derive_statements(self.dialect):
                    cur.execute(statement)
            for statement in rollup.trigger_ddl(self.dialect):
                cur.execute(statement)
            self.commit()
        self.rollup_suspended = False

    def _upsert_day_rows(self, cur: Any, table: str, rows: list[tuple]) -> None:
        """Add day rows to ``table``: written straight in when it is empty (a first load: much
        faster on PostgreSQL than the upsert), otherwise through a temporary table and an
        upsert."""
        cols = rollup.DAY_COLUMNS[table]
        cur.execute("SELECT 1 FROM " + table + " LIMIT 1")
        if cur.fetchone() is None:
            target = table + " (grain, " + ", ".join(cols) + ", n)"
            self._write_rows(cur, target, [("d", *r) for r in rows])
            return
        target = "seed_" + table
        self._create_staging(cur, target, table, cols)
        self._write_rows(cur, target, rows)
        cur.execute(rollup.day_upsert(table, target))
        cur.execute("DROP TABLE " + target)

    def _create_staging(self, cur: Any, table: str, like_table: str, cols: tuple[str, ...]) -> None:
        """A temporary table of day rows: ``cols`` and ``n``, typed as in the rollup table
        ``like_table``."""
        raise NotImplementedError

    def _write_rows(self, cur: Any, target: str, rows: list[tuple]) -> None:
        """Append ``rows`` to ``target`` (a table, with a column list or without)."""
        raise NotImplementedError

    # -- rows ------------------------------------------------------------------------------

    def insert_inquiries(self, rows: list[tuple]) -> None:
        """Open the chunk's transaction and insert its rows."""
        raise NotImplementedError

    def insert_events(self, first_id: int, last_id: int) -> None:
        """The audit trail of inquiries ``first_id..last_id`` (see ``_EVENTS``)."""
        mark, actor = self.MARK, self.fallback_actor
        sql = _EVENTS.format(a=mark, b=mark, actor="NULL" if actor is None else mark)
        params = (first_id, last_id) * 3
        if actor is not None:
            params = params[:4] + (actor,) + params[4:]
        with closing(self.dbapi.cursor()) as cur:
            cur.execute(sql, params)

    # -- transactions and the end ----------------------------------------------------------

    def _configure(self, cur: Any) -> None:
        """Settings of this connection only, for the load."""

    def begin(self) -> None:
        """Start a transaction that writes (SQLite takes the write lock at once)."""

    def commit(self) -> None:
        self.dbapi.commit()

    def rollback(self) -> None:
        """End an unfinished transaction (after an error); a no-op otherwise."""
        self.dbapi.rollback()

    def analyze(self) -> None:
        """Fresh statistics for the planner, after a load without an error."""
        raise NotImplementedError

    def clear_journal(self) -> None:
        """Everything the load took away is back: forget it (see ``bulkload``)."""
        with closing(self.dbapi.cursor()) as cur:
            self.begin()
            bulkload.clear(self.dialect, cur, self.owner)
            self.commit()

    def close(self) -> None:
        self.conn.close()
