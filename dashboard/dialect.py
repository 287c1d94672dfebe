"""Where SQLite and PostgreSQL differ, in one place: which backend a session talks to, upserts,
local-time text, transaction-level locks, and whether NULLs sort last.

Everything else of the product is written once for both. The search backends (FTS5 trigram on
SQLite, pg_trgm on PostgreSQL) are classes of ``dashboard.queries.search``, picked there from
``name``; the rollup's date buckets are in ``dashboard.rollup`` with its SQL templates; the bulk
loader's catalogue look-ups in ``dashboard.seed`` and ``dashboard.bulkload``.
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
