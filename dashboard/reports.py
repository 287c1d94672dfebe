"""Aggregates for the manager report page (统计报表), computed in SQL, returned as small DataFrames.

Every public function takes the session first and a ``ReportFilter``; the period is a range of
Asia/Shanghai calendar days applied to ``submitted_at`` (drafts have none and never count). Day,
week (starting Monday) and month buckets are Asia/Shanghai days, computed by the rollup triggers
(SQLite: ``datetime(col, '+8 hours')`` — China has no daylight saving; PostgreSQL:
``timezone('Asia/Shanghai', col)``).

Every section reads the report rollup (dashboard/rollup.py, migration 0003_report_rollup), kept
exact by triggers on ``inquiry``: whole months (or the chosen weeks/months of a trend) from their
own rows plus the days at the period's edges from day rows, so a section reads a few thousand
rows whatever the period. Only the overdue count also reads ``inquiry``, for the one Shanghai
day that holds the SLA cutoff. Scanning ``inquiry`` instead would grow with the table; the
rollup keeps every section in milliseconds (BENCHMARKS.md has the numbers). The median time to complete comes from counts per hour bucket: within one hour of
the exact median when that is under three days (``rollup.HOUR_STEPS``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

import models
from dashboard import accounts, clock, regions, rollup
from dashboard.settings import get_settings
from models import (
    INTENT_LABELS,
    Inquiry,
    ReportCity,
    ReportCount,
    ReportHours,
    Role,
    Status,
    User,
    utcnow,
)

T = TypeVar("T")


#: The statuses a report counts (drafts never are), with their labels.
STATUS_LABELS = {code: models.STATUS_LABELS[code] for code in (Status.submitted, Status.completed)}
GRANULARITIES = {"day": "日", "week": "周", "month": "月"}

#: Completion-time histogram: (label, lower bound in hours inclusive, upper bound exclusive).
COMPLETION_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("4小时内", 0, 4),
    ("4–24小时", 4, 24),
    ("1–2天", 24, 48),
    ("2–3天", 48, 72),
    ("3–7天", 72, 168),
    ("7天以上", 168, None),
)

QUICK_PERIODS = ("本月", "上月", "近30天", "近12个月", "今年", "全部")


def managers_only(fn: Callable[..., T]) -> Callable[..., T]:
    """Authorization in the domain layer: the report functions take ``actor`` (keyword) and
    answer only an active manager; anyone else gets NotAllowed, whatever front end calls them."""

    @functools.wraps(fn)
    def wrapper(session: Session, *args: Any, actor: User, **kwargs: Any) -> T:
        accounts.require_role(session, actor, Role.manager.value)
        return fn(session, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class ReportFilter:
    """What every section of the report page is restricted to; hashable, so it keys caches.

    ``start``/``end`` are Asia/Shanghai calendar days, both inclusive. ``intents`` empty = all.
    """

    start: date
    end: date
    intents: tuple[str, ...] = ()
    province_code: str | None = None
    granularity: str = "week"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportFilter:
        """The same filter over the period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return replace(self, start=end - timedelta(days=self.days - 1), end=end)

    def to_params(self) -> dict[str, str]:
        out = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "granularity": self.granularity,
        }
        if self.intents:
            out["intent"] = ",".join(self.intents)
        if self.province_code:
            out["province"] = self.province_code
        return out

    @classmethod
    def from_params(cls, params: Any, *, default: ReportFilter) -> tuple[ReportFilter, list[str]]:
        """Parse URL parameters; anything invalid falls back to ``default`` with a notice."""
        notices: list[str] = []

        def get(key: str) -> str:
            value = params.get(key)
            if isinstance(value, list):
                value = value[-1] if value else None
            return str(value) if value is not None else ""

        start, end = default.start, default.end
        try:
            if get("from") or get("to"):
                start = date.fromisoformat(get("from") or default.start.isoformat())
                end = date.fromisoformat(get("to") or default.end.isoformat())
                if start > end or start < clock.EARLIEST or end > date(2100, 1, 1):
                    raise ValueError
        except ValueError:
            start, end = default.start, default.end
            notices.append("链接中的日期范围无效，已使用默认期间")
        intents: tuple[str, ...] = default.intents
        if get("intent"):
            raw = tuple(dict.fromkeys(get("intent").split(",")))
            if all(i in INTENT_LABELS for i in raw):
                intents = raw
            else:
                notices.append("链接中的询保内容无效，已忽略")
        province = default.province_code
        if get("province"):
            region = regions.get(get("province"))
            if region is not None and get("province") in {p.code for p in regions.provinces()}:
                province = get("province")
            else:
                notices.append("链接中的省份无效，已忽略")
        granularity = default.granularity
        if get("granularity"):
            if get("granularity") in GRANULARITIES:
                granularity = get("granularity")
            else:
                notices.append("链接中的时间粒度无效，已使用按周")
        flt = cls(start, end, intents, province, granularity)
        return flt, notices


# ---------------------------------------------------------------------------------------------
# SQL building blocks: the rollup tables of dashboard/rollup.py (migration 0003_report_rollup)

_T = Inquiry.__table__
_COUNT = ReportCount.__table__
_CITY = ReportCity.__table__
_HOURS = ReportHours.__table__
_COUNTED = (Status.submitted.value, Status.completed.value)
_GRAIN = {"day": "d", "week": "w", "month": "m"}


def _bucket_start(day: date, granularity: str) -> date:
    """The first day of the Shanghai day/week (Monday)/month holding ``day``."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


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
    first = _bucket_start(start, granularity)
    full_lo = start if first == start else _next_bucket(first, granularity)
    full_hi = _bucket_start(end + timedelta(days=1), granularity)
    if full_lo > full_hi:  # the whole period lies inside one bucket
        full_lo = full_hi = end + timedelta(days=1)
    return _Split(start, end, full_lo, full_hi, first, _bucket_start(end, granularity))


def _rollup(
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
    a code, '*' for the whole country, None for every province (not the country rows)."""
    part = _split(start or flt.start, end or flt.end, granularity)
    c = table.c
    where = [c.intent.in_(flt.intents or tuple(INTENT_LABELS))]
    if province is None:
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


def _province(flt: ReportFilter) -> str:
    return flt.province_code or rollup.ALL


def _summed(rows: Any, *keys: str) -> sa.Select:
    """``SELECT keys, SUM(n) FROM rows GROUP BY keys HAVING SUM(n) > 0 ORDER BY keys``: rows
    whose count dropped to 0 stay in the rollup and must not show up as zero bars."""
    cols = [rows.c[k] for k in keys]
    total = sa.func.sum(rows.c.n)
    return sa.select(*cols, total).group_by(*cols).having(total > 0).order_by(*cols)


def _where(flt: ReportFilter) -> list[Any]:
    """Conditions on ``inquiry`` itself (the overdue count's last, partial day)."""
    lo = clock.day_start_utc(flt.start)
    hi = clock.day_start_utc(flt.end + timedelta(days=1))
    out = [
        _T.c.status.in_(_COUNTED),
        _T.c.submitted_at >= lo,
        _T.c.submitted_at < hi,
        _T.c.intent.in_(flt.intents or tuple(INTENT_LABELS)),
    ]
    if flt.province_code:
        out.append(_T.c.province_code == flt.province_code)
    return out


def _intent_frame(rows: list[Any], value: str = "数量") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["intent", value])
    df[value] = df[value].astype("int64")
    df["询保内容"] = df["intent"].map(INTENT_LABELS)
    return df


def _hours_histogram(session: Session, flt: ReportFilter) -> list[tuple[int, int]]:
    """(hour bucket of the time from submission to completion, count) of the period's
    completions."""
    rows = _rollup(_HOURS, flt, "month", ("hours",), province=_province(flt))
    return [(int(h), int(n)) for h, n in session.execute(_summed(rows, "hours")).all()]


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


# ---------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class Overview:
    total: int
    waiting: int
    completed: int
    completion_rate: float | None  # completed / total, None when total is 0
    median_hours: float | None  # submission → completion, within the hour; None without any


def _status_counts(session: Session, flt: ReportFilter) -> dict[str, int]:
    rows = _rollup(_COUNT, flt, "month", ("status",), province=_province(flt))
    return {s: int(n) for s, n in session.execute(_summed(rows, "status")).all()}


def _overview_one(session: Session, flt: ReportFilter) -> Overview:
    counts = _status_counts(session, flt)
    completed = counts.get(Status.completed.value, 0)
    waiting = counts.get(Status.submitted.value, 0)
    total = completed + waiting
    median = median_from_histogram(_hours_histogram(session, flt)) if completed else None
    rate = completed / total if total else None
    return Overview(total, waiting, completed, rate, median)


@managers_only
def overview(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """概览: one row per metric with the value for the period and for the previous period of the
    same length. Columns: metric, 当前, 上期 (the latter may be NaN/None)."""
    cur, prev = _overview_one(session, flt), _overview_one(session, flt.previous())
    rows = [
        ("新增咨询", cur.total, prev.total),
        ("待处理", cur.waiting, prev.waiting),
        ("已完成", cur.completed, prev.completed),
        ("完成率", cur.completion_rate, prev.completion_rate),
        ("完成用时中位数（小时）", cur.median_hours, prev.median_hours),
    ]
    return pd.DataFrame(rows, columns=["指标", "当前", "上期"])


@managers_only
def volume_by_intent(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """按询保内容: inquiries per intent in the period. Columns intent, 数量, 询保内容, 占比."""
    rows = _rollup(_COUNT, flt, "month", ("intent",), province=_province(flt))
    df = _intent_frame(session.execute(_summed(rows, "intent")).all())
    total = df["数量"].sum()
    df["占比"] = df["数量"] / total if total else 0.0
    return df


@managers_only
def intent_share_over_time(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """Intent counts and shares per day/week/month. Columns 期间, intent, 数量, 询保内容, 占比."""
    df = _trend(session, flt)
    if df.empty:
        df["占比"] = pd.Series(dtype=float)
        return df
    df["占比"] = df["数量"] / df.groupby("期间")["数量"].transform("sum")
    return df


@managers_only
def volume_by_region(
    session: Session, flt: ReportFilter, province_code: str | None = None
) -> pd.DataFrame:
    """按地区: inquiries per province, or per city of ``province_code`` (drill-down), sorted by
    volume descending. Columns code, 地区, 数量. ``flt.province_code`` applies when
    ``province_code`` is not given."""
    province_code = province_code or flt.province_code
    if province_code:
        rows = _rollup(_CITY, flt, "month", ("city_code",), province=province_code)
        key = rows.c.city_code
    else:
        rows = _rollup(_COUNT, flt, "month", ("province_code",), province=None)
        key = rows.c.province_code
    total = sa.func.sum(rows.c.n).label("n")
    stmt = sa.select(key, total).group_by(key).having(total > 0).order_by(total.desc(), key)
    df = pd.DataFrame(session.execute(stmt).all(), columns=["code", "数量"])
    df["数量"] = df["数量"].astype("int64")
    df["code"] = [c or None for c in df["code"]]  # '' = a province without cities
    names = {}
    for code in df["code"]:
        if code is None:
            names[code] = regions.name(province_code) if province_code else "未知"
        else:
            names[code] = regions.name(code) or code
    df.insert(1, "地区", [names[c] for c in df["code"]])
    return df


def _trend(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """趋势: inquiries per period bucket (Shanghai day, Monday week or month) and intent.
    Columns 期间 (datetime of the bucket start), intent, 数量, 询保内容."""
    rows = _rollup(_COUNT, flt, flt.granularity, ("intent",), province=_province(flt))
    df = pd.DataFrame(
        session.execute(_summed(rows, "bucket", "intent")).all(),
        columns=["期间", "intent", "数量"],
    )
    df["数量"] = df["数量"].astype("int64")
    df["期间"] = pd.to_datetime(df["期间"])
    df["询保内容"] = df["intent"].map(INTENT_LABELS)
    return df


def _status_mix(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """处理效率: submitted vs completed per intent. Columns intent, status, 数量, 询保内容, 状态."""
    rows = _rollup(_COUNT, flt, "month", ("intent", "status"), province=_province(flt))
    df = pd.DataFrame(
        session.execute(_summed(rows, "intent", "status")).all(),
        columns=["intent", "status", "数量"],
    )
    df["数量"] = df["数量"].astype("int64")
    df["询保内容"] = df["intent"].map(INTENT_LABELS)
    df["状态"] = df["status"].map(STATUS_LABELS)
    return df


def _completion_time_distribution(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """Histogram of hours from submission to completion, bucketed in SQL. Columns 用时, 数量, 序号
    (every bucket listed, zeros included, in order). The bucket bounds are whole hours, so the
    rollup's whole hours place every completion exactly."""
    rows = _rollup(_HOURS, flt, "month", ("hours",), province=_province(flt))
    whens = [
        (rows.c.hours < hi, i)
        for i, (_, _lo, hi) in enumerate(COMPLETION_BUCKETS)
        if hi is not None
    ]
    bucket = sa.case(*whens, else_=len(COMPLETION_BUCKETS) - 1).label("b")
    stmt = sa.select(bucket, sa.func.sum(rows.c.n)).group_by(bucket)
    counts = {int(b): int(n) for b, n in session.execute(stmt).all()}
    rows_out = [(label, counts.get(i, 0), i) for i, (label, _, _) in enumerate(COMPLETION_BUCKETS)]
    return pd.DataFrame(rows_out, columns=["用时", "数量", "序号"])


def _overdue_count(session: Session, flt: ReportFilter, *, now: datetime | None = None) -> int:
    """Inquiries of the period still waiting longer than ``settings.sla_working_days``: whole
    Shanghai days before the cutoff's day from the rollup, the cutoff's own day from
    ``inquiry`` (an index range of one day)."""
    cutoff = clock.overdue_cutoff(now or utcnow(), get_settings().sla_working_days)
    cutoff_day = cutoff.astimezone(clock.SHANGHAI).date()
    total = 0
    last_whole = min(flt.end, cutoff_day - timedelta(days=1))
    if flt.start <= last_whole:
        rows = _rollup(_COUNT, flt, "month", ("status",), province=_province(flt), end=last_whole)
        stmt = sa.select(sa.func.coalesce(sa.func.sum(rows.c.n), 0)).where(
            rows.c.status == Status.submitted.value
        )
        total += int(session.execute(stmt).scalar_one())
    if flt.start <= cutoff_day <= flt.end:
        day = replace(flt, start=cutoff_day, end=cutoff_day)
        stmt = (
            sa.select(sa.func.count())
            .select_from(_T)
            .where(
                *_where(day),
                _T.c.status == Status.submitted.value,
                _T.c.submitted_at < cutoff.astimezone(UTC),
            )
        )
        total += int(session.execute(stmt).scalar_one())
    return total


@managers_only
def efficiency(session: Session, flt: ReportFilter) -> dict[str, Any]:
    """处理效率 in one call: status mix, completion-time histogram and the overdue count."""
    return {
        "status_mix": _status_mix(session, flt),
        "completion_time": _completion_time_distribution(session, flt),
        "overdue": _overdue_count(session, flt),
    }


# The sections that others combine are written unguarded (``_trend`` …) and published guarded,
# so that a combination checks the actor once, like every other section.
trend = managers_only(_trend)
status_mix = managers_only(_status_mix)
completion_time_distribution = managers_only(_completion_time_distribution)
overdue_count = managers_only(_overdue_count)


def pct_change(current: float | None, previous: float | None) -> float | None:
    """Relative change, None when there is nothing to compare against."""
    if current is None or previous in (None, 0) or pd.isna(previous):
        return None
    return (current - previous) / previous
