"""Writing seeded inquiries: a chunk at a time, one transaction each, on the driver's own
connection, one class per backend (``load`` picks it).

A load bigger than the table already is (``suspend``) first takes away what is cheaper done once
at the end: the non-unique indexes of ``inquiry`` and ``inquiry_event`` (on PostgreSQL their
foreign keys too) are dropped and rebuilt, the report rollup's triggers dropped and the rollup
rebuilt from a tally of the loaded rows, and on SQLite the search index's insert trigger becomes
one set-based statement per chunk (``fts``). Each drop is journaled in ``bulk_load_pending``
(``dashboard.bulkload``) in the transaction that makes it, so that a load killed outright is
undone at the next start.

A load is a context manager; leaving it puts everything back, once, also after an error::

    with bulk.load(engine, suspend=True) as load:
        for rows in chunks:
            load.write(rows)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from dashboard.seed.bulk.base import INQUIRY_COLUMNS, BulkLoad, DayTally
from dashboard.seed.bulk.postgres import INDEX_SESSIONS, PostgresLoad
from dashboard.seed.bulk.sqlite import SqliteLoad

__all__ = [
    "INDEX_SESSIONS",
    "INQUIRY_COLUMNS",
    "BulkLoad",
    "DayTally",
    "PostgresLoad",
    "SqliteLoad",
    "load",
]


def load(
    engine: Engine,
    *,
    suspend: bool,
    fallback_actor: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkLoad:
    """A load into ``engine``'s database. ``suspend``: take away indexes and triggers for its
    length (a load bigger than the table). ``fallback_actor`` completes the inquiries that have no
    assignee in the audit trail; ``progress(n)`` is called after each chunk is committed."""
    kind = SqliteLoad if engine.dialect.name == "sqlite" else PostgresLoad
    return kind(engine, suspend=suspend, fallback_actor=fallback_actor, progress=progress)
