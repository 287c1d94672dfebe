"""Serials (询保流水号): 18 digits, the 4-digit year of creation and a 14-digit number, unique and
increasing, allocated without races (DESIGN.md)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from dashboard import dialect
from dashboard.errors import Conflict
from models import SerialCounter


def allocate_serials(session: Session, *, year: int, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive serials for ``year``: 4-digit year + 14-digit number.

    The counter row is updated in place (``UPDATE … RETURNING``); the row lock (PostgreSQL) or the
    write lock (SQLite) makes two concurrent allocations wait for each other, so they never share
    a number, and numbers only grow.
    """
    if count < 1:
        return []
    table = SerialCounter.__table__
    session.execute(
        dialect.insert(dialect.name(session), table)
        .values(year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    last = session.execute(
        sa.update(table)
        .where(table.c.year == year)
        .values(last_value=table.c.last_value + count)
        .returning(table.c.last_value)
    ).scalar_one()
    first = last - count + 1
    if last >= 10**14:
        raise Conflict(f"{year}年的询保流水号已用尽")
    return [f"{year:04d}{n:014d}" for n in range(first, last + 1)]
