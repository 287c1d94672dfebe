"""The SQL of the report sections (统计报表): a period's rows of a rollup table, read as whole
buckets at their own grain plus the days at the period's edges from the day rows, so a section
reads a few thousand rows whatever the period (``rollup_rows``); their sums (``summed``); the
conditions on ``inquiry`` itself for the one partial day a section reads there (``where_of``);
and the median time to complete from the hour buckets (``median_from_histogram``).

The rollup tables are ``dashboard.rollup``'s (migration 0003_report_rollup); the sections that
read them are ``dashboard.reports`` and ``dashboard.workload``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from dashboard import clock, rollup
from dashboard.report_filter import ReportFilter, bucket_start, next_bucket
from models import INTENT_LABELS, Inquiry, ReportCity, ReportCount, ReportHours, Status

INQUIRY = Inquiry.__table__
COUNT = ReportCount.__table__
CITY = ReportCity.__table__
HOURS = ReportHours.__table__
_COUNTED = (Status.submitted.value, Status.completed.value)
_GRAIN = {"day": "d", "week": "w", "month": "m"}


@dataclass(frozen=True)
class _Split:
    """A period as whole buckets ``[full_lo, full_hi)`` read at their own grain, plus the days
    before (``head`` bucket) and after (``tail`` bucket) read at the day grain."""

    start: date
    end: date
    full_lo: date
    full_hi: date
    head: date
    tail: date


def _split(start: date, end: date, granularity: str) -> _Split:
    first = bucket_start(start, granularity)
    full_lo = start if first == start else next_bucket(first, granularity)
    full_hi = bucket_start(end + timedelta(days=1), granularity)
    if full_lo > full_hi:  # the whole period lies inside one bucket
        full_lo = full_hi = end + timedelta(days=1)
    return _Split(start, end, full_lo, full_hi, first, bucket_start(end, granularity))


def rollup_rows(
    table: sa.Table,
    flt: ReportFilter,
    granularity: str,
    columns: tuple[str, ...],
    *,
    province: str | None,
    start: date | None = None,
    end: date | None = None,
) -> Any:
    """Rows of a rollup table for the period as (bucket, *columns, n): whole buckets from their
    grain, the days at the edges from the day grain labelled with their bucket. ``province``:
    a code, '*' for the whole country, None for every province (not the country rows); a table
    without provinces (``report_workload``) counts the whole country only."""
    part = _split(start or flt.start, end or flt.end, granularity)
    c = table.c
    where = [c.intent.in_(flt.intents or tuple(INTENT_LABELS))]
    if "province_code" not in c:
        if province not in (None, rollup.ALL):
            raise ValueError(f"{table.name} counts the whole country only")
    elif province is None:
        where.append(c.province_code != rollup.ALL)
    else:
        where.append(c.province_code == province)
    cols = [c[name] for name in columns]
    selects = []
    if part.full_lo < part.full_hi:
        selects.append(
            sa.select(c.period.label("bucket"), *cols, c.n).where(
                c.grain == _GRAIN[granularity],
                c.period >= part.full_lo,
                c.period < part.full_hi,
                *where,
            )
        )
    for label, lo, hi in (
        (part.head, part.start, min(part.full_lo, part.end + timedelta(days=1))),
        (part.tail, max(part.full_hi, part.full_lo), part.end + timedelta(days=1)),
    ):
        if lo < hi:
            selects.append(
                sa.select(sa.literal(label, sa.Date).label("bucket"), *cols, c.n).where(
                    c.grain == "d", c.period >= lo, c.period < hi, *where
                )
            )
    if not selects:  # an empty period
        selects.append(sa.select(c.period.label("bucket"), *cols, c.n).where(sa.false()))
    return sa.union_all(*selects).subquery("r")


def province_of(flt: ReportFilter) -> str:
    return flt.province_code or rollup.ALL


def summed(rows: Any, *keys: str) -> sa.Select:
    """``SELECT keys, SUM(n) FROM rows GROUP BY keys HAVING SUM(n) > 0 ORDER BY keys``: rows
    whose count dropped to 0 stay in the rollup and must not show up as zero bars."""
    cols = [rows.c[k] for k in keys]
    total = sa.func.sum(rows.c.n)
    return sa.select(*cols, total).group_by(*cols).having(total > 0).order_by(*cols)


def where_of(flt: ReportFilter, columns: Any = INQUIRY.c) -> list[Any]:
    """Conditions on ``inquiry`` itself (the overdue count's last, partial day), over
    ``columns`` (the table's, or free-standing ones of the same names and types)."""
    c = columns
    lo = clock.day_start_utc(flt.start)
    hi = clock.day_start_utc(flt.end + timedelta(days=1))
    out = [
        c.status.in_(_COUNTED),
        c.submitted_at >= lo,
        c.submitted_at < hi,
        c.intent.in_(flt.intents or tuple(INTENT_LABELS)),
    ]
    if flt.province_code:
        out.append(c.province_code == flt.province_code)
    return out


def hours_histogram(session: Session, flt: ReportFilter) -> list[tuple[int, int]]:
    """(hour bucket of the time from submission to completion, count) of the period's
    completions."""
    rows = rollup_rows(HOURS, flt, "month", ("hours",), province=province_of(flt))
    return [(int(h), int(n)) for h, n in session.execute(summed(rows, "hours")).all()]


def median_from_histogram(histogram: list[tuple[int, int]]) -> float | None:
    """The median of values known by their hour bucket (``rollup.HOUR_STEPS``): each middle
    value is placed evenly inside its bucket, so the result is within one bucket of the exact
    median — within an hour when it is under three days."""
    total = sum(n for _, n in histogram)
    if not total:
        return None

    def value(k: int) -> float:
        below = 0
        for hour, n in histogram:
            if k < below + n:
                return hour + (k - below + 0.5) / n * rollup.bucket_width(hour)
            below += n
        raise AssertionError("k out of range")

    return (value((total - 1) // 2) + value(total // 2)) / 2
