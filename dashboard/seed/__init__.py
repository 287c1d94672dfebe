"""Demo data: ``python -m dashboard seed`` and the demo inquiries of a first start.

- ``demo``: the demo accounts, and the demo data of a first start (``ensure_demo``);
- ``generate``: the deterministic rows;
- ``bulk``: writing them, a context manager per backend that puts back what a bulk load took
  away (``bulk.sqlite``, ``bulk.postgres``; ``bulk.fts``: SQLite's search index meanwhile).

Importing this package, or ``demo``, stays light (the login page lists the demo accounts): the
generator and the loader are imported when ``seed`` runs, or when one of their constants is read
from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from dashboard import db
from dashboard.seed.demo import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    EXTRA_STAFF,
    create_demo_accounts,
    ensure_demo,
)

__all__ = [
    "CHUNK",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "EXTRA_STAFF",
    "create_demo_accounts",
    "ensure_demo",
    "seed",
]

CHUNK = 100_000  # rows per transaction
#: Constants of the loader, read through this package: name → the module defining it.
_LOADER_CONSTANTS = {"FTS5_DEFAULT_AUTOMERGE": "bulk.fts", "INDEX_SESSIONS": "bulk"}


def seed(
    engine: Engine,
    *,
    rows: int,
    seed: int = 2026,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    demo_owner_id: int | None = None,
    demo_company: str | None = None,
) -> int:
    """Add ``rows`` deterministic inquiries (plus their audit events). Returns rows added.

    The same ``seed`` and ``end`` give the same data. ``progress(n)`` is called after each chunk
    with the number of rows just inserted. ``demo_owner_id`` gets a handful of the inquiries.
    A seed of more rows than the table holds is a bulk load (``bulk``).
    """
    from dashboard.seed import bulk, generate

    if rows <= 0:
        return 0
    end_ts = int((end or datetime.now(UTC)).timestamp())
    with db.session_scope(engine) as session:
        source = generate.InquiryRows.prepare(
            session,
            rows=rows,
            seed=seed,
            end=end_ts,
            dialect=engine.dialect.name,
            demo_owner_id=demo_owner_id,
            demo_company=demo_company,
        )
    suspend = source.first_id < rows  # rebuilding the secondary indexes once pays off
    with bulk.load(
        engine, suspend=suspend, fallback_actor=source.actor_id, progress=progress
    ) as load:
        for start in range(0, rows, CHUNK):
            load.write(source.chunk(start, min(rows, start + CHUNK), load.tally))
    return rows


def __getattr__(name: str) -> Any:
    module = _LOADER_CONSTANTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
