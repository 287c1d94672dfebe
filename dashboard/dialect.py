"""Where SQLite and PostgreSQL differ, in one place: which backend a session talks to, upserts,
local-time text, transaction-level locks, whether NULLs sort last, and the rollup's date buckets.

Everything else of the product is written once for both. The search backends (FTS5 trigram on
SQLite, pg_trgm on PostgreSQL) are classes of ``dashboard.queries.search``, picked there from
``name``; the bulk loader's catalogue look-ups in ``dashboard.seed`` and ``dashboard.bulkload``.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

Name = Literal["sqlite", "postgresql"]
SQLITE: Name = "sqlite"
POSTGRESQL: Name = "postgresql"


def name(bind: Session | Connection | Engine) -> Name:
    """The backend behind a session, connection or engine."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name  # type: ignore[return-value]


def insert(dialect: Name, table: sa.Table):
    """``INSERT`` with ``on_conflict_do_nothing``/``on_conflict_do_update`` for ``dialect``."""
    return (postgresql.insert if dialect == POSTGRESQL else sqlite.insert)(table)


def local_minutes(column: sa.ColumnElement, dialect: Name) -> sa.ColumnElement:
    """A UTC time column as Asia/Shanghai ``YYYY-MM-DD HH:MM`` text, '' for none. SQLite stores
    naive UTC text; Shanghai has been UTC+8 all year since 1991 (``clock.SHANGHAI``)."""
    if dialect == SQLITE:
        text = sa.func.strftime("%Y-%m-%d %H:%M", column, "+8 hours")
    else:
        text = sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM-DD HH24:MI")
    return sa.func.coalesce(text, "")


def serialise(session: Session, key: int) -> None:
    """Run the rest of this transaction after every other one that called this with ``key``.

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do, a write transaction
    already holds the database's one write lock (``db.session_scope`` begins it IMMEDIATE)."""
    if name(session) == POSTGRESQL:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def nulls_sort_last(dialect: Name) -> bool:
    """Whether a descending index walk meets NULLs last (SQLite) or first (PostgreSQL)."""
    return dialect == SQLITE


# Date arithmetic of the report rollup (``dashboard.rollup``), as SQL text over column names.
# Shanghai has had no daylight saving since 1991: a fixed +8 hours.
_EXPRESSIONS = {  # name → (SQLite, PostgreSQL)
    "day": ("date({}, '+8 hours')", "CAST(timezone('Asia/Shanghai', {}) AS date)"),
    "w": ("date({}, 'weekday 0', '-6 days')", "CAST(date_trunc('week', CAST({} AS timestamp)) AS date)"),
    "m": ("strftime('%Y-%m-01', {})", "CAST(date_trunc('month', CAST({} AS timestamp)) AS date)"),
    "seconds": ("CAST(strftime('%s', {}) AS INTEGER)", "CAST(floor(extract(epoch FROM {})) AS bigint)"),
}  # fmt: skip


def _expression(expression: str, dialect: Name, operand: str) -> str:
    return _EXPRESSIONS[expression][dialect != SQLITE].format(operand)


def day_of(dialect: Name, ts: str) -> str:
    """The Asia/Shanghai calendar day of a stored UTC time."""
    return _expression("day", dialect, ts)


def period_of(dialect: Name, grain: str, day: str) -> str:
    """The first day of the day (``d``), Monday week (``w``) or month (``m``) of a day."""
    return day if grain == "d" else _expression(grain, dialect, day)


def hours_between(dialect: Name, start: str, end: str) -> str:
    """Whole hours from ``start`` to ``end``, counted in whole seconds (the same on both)."""
    seconds = _expression("seconds", dialect, end), _expression("seconds", dialect, start)
    return "(({} - {}) / 3600)".format(*seconds)


def triggers_on(conn: Connection, table: str) -> list[tuple[str, ...]]:
    """The enabled triggers of ``table`` from the catalogue: SQLite ``(name, sql)``; PostgreSQL
    ``(name, function name, function source, definition)``."""
    if name(conn) == SQLITE:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
        return [tuple(row) for row in conn.exec_driver_sql(sql, (table,))]
    sql = (
        "SELECT t.tgname, p.proname, p.prosrc, pg_get_triggerdef(t.oid, true) "
        "FROM pg_trigger AS t JOIN pg_proc AS p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = CAST(%(table)s AS regclass) AND NOT t.tgisinternal "
        "AND t.tgenabled <> 'D'"
    )
    return [tuple(row) for row in conn.exec_driver_sql(sql, {"table": table})]
