"""A journal of what a bulk load takes away, so that a load killed outright is undone at the next
start.

The bulk seeder (``seed.bulk``) drops the secondary indexes (and on PostgreSQL the foreign keys)
of ``inquiry`` and ``inquiry_event`` and the search table's insert trigger for the length of the
load, and may build an empty search index beside the database. It puts everything back at the end,
also after an error. Killed outright (SIGKILL, a power cut), it cannot: the indexes and the trigger
stay missing, and inquiries written afterwards would never be found by a search.

So the load writes, in the same transaction as each drop, a row of ``bulk_load_pending`` with the
statement that undoes it (``rebuild`` for a search index it builds beside; on PostgreSQL the
statement that moves the id sequence past the ids it wrote), and deletes its
rows once everything is back. ``repair`` (run by ``db.migrate`` at every start) replays the rows
of loads whose process is gone: the owner is ``pid:<n>`` for SQLite (a file on this machine) and
``pg:<n>``, the server process of the load's session, for PostgreSQL. A load that is still running
is left alone. Replaying is idempotent: an index or trigger that is there already is skipped.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from sqlalchemy.engine import Connection

TABLE = "bulk_load_pending"
#: Replayed in this order; "rebuild" rebuilds a search index, "sequence" runs its statement again.
KINDS = ("index", "constraint", "trigger", "rebuild", "sequence")


#: The scratch databases of search indexes built beside a load (``seed.fts.SideIndex``), in the
#: database's directory: the prefix, the pid of the seeding process, "-", a random part.
SCRATCH_PREFIX = ".seed-fts-"


def quoted(identifier: str) -> str:
    """An identifier read from the database's catalogue, quoted for DDL."""
    return '"' + identifier.replace('"', '""') + '"'


def main_file(database_list: list) -> str | None:
    """SQLite: the file of the main database from the rows of ``PRAGMA database_list``, or None
    for an in-memory one."""
    for _, name, path in database_list:
        if name == "main":
            return path or None
    return None


def remove_orphans(directory: str) -> None:
    """Remove the scratch files of loads whose process is gone (killed outright), so that they do
    not pile up beside the database."""
    for name in os.listdir(directory):
        if not name.startswith(SCRATCH_PREFIX):
            continue
        pid = name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. not ours to signal: it exists
        return True
    return True


def owner(dialect: str, cur: Any) -> str:
    """Who a journal row belongs to: the seeding process (SQLite) or its server session."""
    if dialect == "sqlite":
        return "pid:" + str(os.getpid())
    cur.execute("SELECT pg_backend_pid()")
    return "pg:" + str(cur.fetchone()[0])


def record(dialect: str, cur: Any, who: str, entries: list[tuple[str, str, str]]) -> None:
    """Journal ``entries`` (kind, name, statement that undoes the drop) inside the caller's
    transaction, the one that drops them."""
    mark = "?" if dialect == "sqlite" else "%s"
    marks = ", ".join([mark] * 4)
    for kind, name, ddl in entries:
        cur.execute(
            "INSERT INTO " + TABLE + " (owner, kind, name, ddl) VALUES (" + marks + ")",
            (who, kind, name, ddl),
        )


def clear(dialect: str, cur: Any, who: str) -> None:
    mark = "?" if dialect == "sqlite" else "%s"
    cur.execute("DELETE FROM " + TABLE + " WHERE owner = " + mark, (who,))


def _alive(conn: Connection, who: str) -> bool:
    kind, _, number = who.partition(":")
    if not number.isdigit():
        return False
    if kind == "pid":
        return _running(int(number))
    if kind == "pg" and conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %(p)s", {"p": int(number)}
        ).first()
        return found is not None
    return False


def _exists(conn: Connection, kind: str, name: str) -> bool:
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)
        ).first()
        return found is not None
    if kind == "index":
        sql = (
            "SELECT 1 FROM pg_class WHERE relname = %(n)s AND relkind = 'i' "
            "AND pg_table_is_visible(oid)"
        )
    elif kind == "constraint":
        sql = (
            "SELECT 1 FROM pg_constraint WHERE conname = %(n)s "
            "AND conrelid IN ('inquiry'::regclass, 'inquiry_event'::regclass)"
        )
    else:
        sql = "SELECT 1 FROM pg_trigger WHERE tgname = %(n)s AND tgrelid = 'inquiry'::regclass"
    return conn.exec_driver_sql(sql, {"n": name}).first() is not None


def running(conn: Connection) -> bool:
    """Whether a bulk load is going on now (it has journal rows and its process is alive)."""
    owners = conn.exec_driver_sql("SELECT DISTINCT owner FROM " + TABLE).scalars().all()
    return any(_alive(conn, who) for who in owners)


def _rebuild(conn: Connection, name: str, fill: str) -> None:
    """Rebuild a search index from the rows there: FTS5's ``rebuild``, or for an index without
    content (which FTS5 cannot rebuild) its load's ``fill`` statement over every row."""
    table = quoted(name)
    if not fill:
        conn.exec_driver_sql("INSERT INTO " + table + " (" + table + ") VALUES ('rebuild')")
        return
    from dashboard.queries.search import register_sql_functions

    register_sql_functions(conn.connection.driver_connection)
    conn.exec_driver_sql("INSERT INTO " + table + " (" + table + ") VALUES ('delete-all')")
    conn.exec_driver_sql(fill)


def repair(conn: Connection) -> list[str]:
    """Undo what loads that were killed left behind, inside the caller's transaction, and remove
    their scratch files. Returns the names put back (or rebuilt)."""
    if conn.dialect.name == "sqlite":
        path = main_file(conn.exec_driver_sql("PRAGMA database_list").all())
        if path:
            remove_orphans(os.path.dirname(path))
    rows = conn.exec_driver_sql(
        "SELECT id, owner, kind, name, ddl FROM " + TABLE + " ORDER BY id"
    ).all()
    dead = {who for who in {r.owner for r in rows} if not _alive(conn, who)}
    done: list[str] = []
    for kind in KINDS:
        for row in rows:
            if row.owner not in dead or row.kind != kind:
                continue
            if kind == "rebuild":  # a search index built beside the load was never copied in
                _rebuild(conn, row.name, row.ddl)
            elif kind == "sequence" or not _exists(conn, kind, row.name):  # (setval: idempotent)
                conn.exec_driver_sql(row.ddl)
            else:
                continue
            done.append(row.name)
    for who in dead:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DELETE FROM " + TABLE + " WHERE owner = ?", (who,))
        else:
            conn.exec_driver_sql("DELETE FROM " + TABLE + " WHERE owner = %(o)s", {"o": who})
    return done
