"""The access log (``data_access_log``) of personal data: who saw or exported contact data in
full, and what was anonymised or deleted.

One row per full view of an inquiry and per export with contacts (its filter and row count),
written with ``session.flush()`` in the transaction that reads the data, before the data is
returned: if the row cannot be written, the read fails and nothing is shown (``record``).
Anonymisations, purges and deleted drafts are logged with their counts (``retention``).
Administrators and the console read it (访问记录), filtered, and as CSV.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TextIO

import sqlalchemy as sa
from sqlmodel import Session

from dashboard import accounts, clock
from dashboard.accounts import Administrator, Operator
from models import ACCESS_ACTION_LABELS, AccessAction, DataAccessLog, Inquiry, User

#: The administrator check of the reading functions here: the console operator may read the log.
_require_admin = functools.partial(accounts.require_admin, console=True)


def _actor_label(actor: User | Operator | None) -> str:
    if isinstance(actor, Operator):
        return actor.label[:100]
    return actor.username[:100] if actor is not None else ""


def record(
    session: Session,
    *,
    actor: User | Operator | None,
    action: AccessAction,
    inquiry: Inquiry | None = None,
    filter: dict | None = None,
    row_count: int | None = None,
    detail: str = "",
) -> DataAccessLog:
    """Write one access-log row now (``flush``): a caller that returns data afterwards returns it
    only if the row could be written, and the row commits or rolls back with the read."""
    scope = None if filter is None else json.dumps(filter, ensure_ascii=False, sort_keys=True)
    row = DataAccessLog(
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=_actor_label(actor),
        action=action.value,
        inquiry_id=inquiry.id if inquiry is not None else None,
        serial=inquiry.serial if inquiry is not None else None,
        filter=scope,
        row_count=row_count,
        detail=detail[:500],
    )
    session.add(row)
    session.flush()
    return row


# --------------------------------------------------------------------------------------------
# Reading the access log (administrators, the console)


@dataclass(frozen=True)
class AccessLogFilter:
    """What 访问记录 is narrowed to; hashable, so it keys caches. Days are Asia/Shanghai days,
    both inclusive; ``actor`` and ``search`` are contained (case-insensitive) in the actor's
    name and in the serial or the description."""

    start: date | None = None
    end: date | None = None
    actions: tuple[str, ...] = ()
    actor: str = ""
    search: str = ""


@dataclass(frozen=True)
class AccessLogEntry:
    at: datetime
    actor: str
    action: str
    serial: str
    filter: str
    row_count: int | None
    detail: str

    @property
    def action_label(self) -> str:
        return ACCESS_ACTION_LABELS.get(self.action, self.action)


_L = DataAccessLog.__table__


def _log_conditions(flt: AccessLogFilter) -> list[sa.ColumnElement]:
    conditions: list[sa.ColumnElement] = []
    if flt.start:
        conditions.append(_L.c.at >= clock.day_start_utc(flt.start))
    if flt.end:
        conditions.append(_L.c.at < clock.day_start_utc(flt.end + timedelta(days=1)))
    if flt.actions:
        conditions.append(_L.c.action.in_(flt.actions))
    if flt.actor.strip():
        term = flt.actor.strip().lower()
        conditions.append(sa.func.lower(_L.c.actor_label).contains(term, autoescape=True))
    if flt.search.strip():
        term = flt.search.strip().lower()
        conditions.append(
            sa.or_(
                sa.func.lower(sa.func.coalesce(_L.c.serial, "")).contains(term, autoescape=True),
                sa.func.lower(_L.c.detail).contains(term, autoescape=True),
            )
        )
    return conditions


def _entries(rows) -> Iterator[AccessLogEntry]:
    for row in rows:
        yield AccessLogEntry(
            at=row.at,  # aware UTC: the column type (models.UTCDateTime) makes it so
            actor=row.actor_label,
            action=row.action,
            serial=row.serial or "",
            filter=row.filter or "",
            row_count=row.row_count,
            detail=row.detail,
        )


def access_log(
    session: Session, flt: AccessLogFilter, *, actor: Administrator, limit: int = 500
) -> list[AccessLogEntry]:
    """The newest ``limit`` access-log rows matching ``flt`` (administrators only)."""
    _require_admin(session, actor)
    stmt = (
        sa.select(_L)
        .where(*_log_conditions(flt))
        .order_by(_L.c.at.desc(), _L.c.id.desc())
        .limit(limit)
    )
    return list(_entries(session.execute(stmt)))


def count_access_log(session: Session, flt: AccessLogFilter, *, actor: Administrator) -> int:
    """How many access-log rows match ``flt`` (administrators only)."""
    _require_admin(session, actor)
    stmt = sa.select(sa.func.count()).select_from(_L).where(*_log_conditions(flt))
    return session.execute(stmt).scalar_one()


LOG_HEADERS = ("时间", "操作人", "操作", "询保流水号", "条数", "筛选条件", "说明")


def write_access_log_csv(
    session: Session, flt: AccessLogFilter, *, actor: Administrator, out: TextIO
) -> int:
    """Every access-log row matching ``flt``, oldest first, as CSV (Chinese headers, Shanghai
    times, user text neutralised for spreadsheets) to the text stream ``out``; returns the
    number of rows. Streamed, so memory stays flat however long the log."""
    from dashboard.export import neutralise

    _require_admin(session, actor)
    writer = csv.writer(out)
    writer.writerow(LOG_HEADERS)
    stmt = (
        sa.select(_L)
        .where(*_log_conditions(flt))
        .order_by(_L.c.at, _L.c.id)
        .execution_options(yield_per=2000, stream_results=True)
    )
    n = 0
    for entry in _entries(session.execute(stmt)):
        count = "" if entry.row_count is None else str(entry.row_count)
        writer.writerow(
            [
                clock.show(entry.at),
                neutralise(entry.actor),
                entry.action_label,
                entry.serial,
                count,
                neutralise(entry.filter),
                neutralise(entry.detail),
            ]
        )
        n += 1
    return n


def access_log_csv(session: Session, flt: AccessLogFilter, *, actor: Administrator) -> bytes:
    """``write_access_log_csv`` as UTF-8 bytes with a BOM (so Excel opens it), for a download."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    write_access_log_csv(session, flt, actor=actor, out=buffer)
    return buffer.getvalue().encode("utf-8")
