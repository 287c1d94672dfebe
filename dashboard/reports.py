"""Aggregates for the manager report page (统计报表), computed in SQL, returned as small DataFrames.

Every public function takes the session first and a ``ReportFilter``; the period is a range of
Asia/Shanghai calendar days applied to ``submitted_at`` (drafts have none and never count). Day,
week (starting Monday) and month buckets are Asia/Shanghai days, computed by the rollup triggers
(SQLite: ``datetime(col, '+8 hours')`` — China has no daylight saving; PostgreSQL:
``timezone('Asia/Shanghai', col)``).

Every section but one reads the report rollup (dashboard/rollup.py, migration
0003_report_rollup), kept exact by triggers on ``inquiry``: whole months (or the chosen
weeks/months of a trend) from their own rows plus the days at the period's edges from day rows,
so a section reads a few thousand rows whatever the period. The overdue count also reads
``inquiry``, for the one Shanghai day that holds the SLA cutoff. Scanning ``inquiry`` instead
would grow with the table; the rollup keeps these sections in milliseconds (BENCHMARKS.md has
the numbers). The exception is 人员工作量 (``workload``): the rollup has no assignee, so it groups
the period's inquiries in SQL, a cost that grows with the period (the default 30 days is a few
percent of two years). The median time to complete comes from counts per hour bucket: within
one hour of the exact median when that is under three days (``rollup.HOUR_STEPS``).

The SQL the sections share (a period's rows of a rollup table, their sums, the median) is in
``dashboard.report_sql``. The sections return the counts that exist; ``report`` gathers them as
the page and the report file show them: every intent of the filter and every bucket of the
period, zeros included (``every_intent``, ``every_bucket``), shares that add up to 100 %
(``largest_remainder``). The period the page opens on is ``default_filter``.
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
from dashboard import accounts, clock, regions
from dashboard.report_filter import (  # noqa: F401  (part of this module's interface)
    DEFAULT_PERIOD,
    GRANULARITIES,
    OLD_PARAM_KEYS,
    QUICK_PERIODS,
    ReportFilter,
    bucket_days,
    bucket_start,
    buckets,
    default_filter,
    default_granularity,
    largest_remainder,
    next_bucket,
    shares_of,
)
from dashboard.report_sql import (  # noqa: F401  (part of this module's interface)
    CITY,
    COUNT,
    HOURS,
    INQUIRY,
    hours_histogram,
    median_from_histogram,
    province_of,
    rollup_rows,
    summed,
    where_of,
)
from dashboard.settings import get_settings
from models import INTENT_LABELS, Role, Status, User, utcnow

T = TypeVar("T")


#: The statuses a report counts (drafts never are), with their labels.
STATUS_LABELS = {code: models.STATUS_LABELS[code] for code in (Status.submitted, Status.completed)}

#: Completion-time histogram buckets (label, first hour, first hour of the next or None).
COMPLETION_BUCKETS = models.COMPLETION_BUCKETS


def managers_only(fn: Callable[..., T]) -> Callable[..., T]:
    """Authorization in the domain layer: the report functions take ``actor`` (keyword) and
    answer only an active manager; anyone else gets NotAllowed, whatever front end calls them."""

    @functools.wraps(fn)
    def wrapper(session: Session, *args: Any, actor: User, **kwargs: Any) -> T:
        accounts.require_role(session, actor, Role.manager.value)
        return fn(session, *args, **kwargs)

    return wrapper


def _intent_frame(rows: list[Any], value: str = "数量") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["intent", value])
    df[value] = df[value].astype("int64")
    df["询保内容"] = df["intent"].map(INTENT_LABELS)
    return df


# ---------------------------------------------------------------------------------------------
# Sections


OVERVIEW_METRICS = ("新增咨询", "待处理", "已完成", "完成率", "完成用时中位数（小时）")


@dataclass(frozen=True)
class Overview:
    total: int
    waiting: int
    completed: int
    completion_rate: float | None  # completed / total, None when total is 0
    median_hours: float | None  # submission → completion, within the hour; None without any


def _status_counts(session: Session, flt: ReportFilter) -> dict[str, int]:
    rows = rollup_rows(COUNT, flt, "month", ("status",), province=province_of(flt))
    return {s: int(n) for s, n in session.execute(summed(rows, "status")).all()}


def _overview_one(session: Session, flt: ReportFilter) -> Overview:
    counts = _status_counts(session, flt)
    completed = counts.get(Status.completed.value, 0)
    waiting = counts.get(Status.submitted.value, 0)
    total = completed + waiting
    median = median_from_histogram(hours_histogram(session, flt)) if completed else None
    rate = completed / total if total else None
    return Overview(total, waiting, completed, rate, median)


def _overview(session: Session, flt: ReportFilter) -> pd.DataFrame:
    cur = _overview_one(session, flt)
    # 全部 has no earlier period to compare with.
    prev = None if flt.since_the_beginning else _overview_one(session, flt.previous())
    fields = ("total", "waiting", "completed", "completion_rate", "median_hours")
    rows = [
        (metric, getattr(cur, name), getattr(prev, name) if prev else None)
        for metric, name in zip(OVERVIEW_METRICS, fields, strict=True)
    ]
    return pd.DataFrame(rows, columns=["指标", "当前", "上期"])


@managers_only
def overview(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """概览: one row per metric with the value for the period and for the previous period of the
    same length (None for 全部). Columns: 指标, 当前, 上期 (the latter may be NaN/None)."""
    return _overview(session, flt)


def _volume_by_intent(session: Session, flt: ReportFilter) -> pd.DataFrame:
    rows = rollup_rows(COUNT, flt, "month", ("intent",), province=province_of(flt))
    df = _intent_frame(session.execute(summed(rows, "intent")).all())
    df["占比"] = shares_of(df["数量"].tolist())
    return df


@managers_only
def volume_by_intent(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """按询保内容: inquiries per intent in the period, the intents with inquiries only (the page
    shows ``every_intent`` of it). Columns intent, 数量, 询保内容, 占比 (fractions whose whole
    percentages add up to 100 %, ``largest_remainder``)."""
    return _volume_by_intent(session, flt)


def every_intent(df: pd.DataFrame, flt: ReportFilter) -> pd.DataFrame:
    """``volume_by_intent`` with every intent of the filter, 0 where none came (a missing bar
    would read as "not asked"), in the order of ``INTENT_LABELS``."""
    counts = dict(zip(df["intent"], df["数量"], strict=True))
    out = _intent_frame([(i, counts.get(i, 0)) for i in flt.intent_codes])
    out["占比"] = shares_of(out["数量"].tolist())
    return out


def with_shares(df: pd.DataFrame) -> pd.DataFrame:
    """A per-bucket frame (``trend``) with 占比: per bucket, whole percentages that add up to
    100 % (all 0 in a bucket without inquiries). Rows of a bucket must be adjacent."""
    out = df.copy()
    out["占比"] = [
        share
        for _, counts in out.groupby("bucket", sort=False)["数量"]
        for share in shares_of(counts.tolist())
    ]
    if out.empty:
        out["占比"] = pd.Series(dtype=float)
    return out


@managers_only
def intent_share_over_time(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """Intent counts and shares per bucket, the buckets and intents with inquiries (as
    ``trend``). Columns 期间, bucket, intent, 数量, 询保内容, 占比 (``with_shares``)."""
    return with_shares(_trend(session, flt))


@managers_only
def volume_by_region(
    session: Session, flt: ReportFilter, province_code: str | None = None
) -> pd.DataFrame:
    """按地区: inquiries per province, or per city of ``province_code`` (drill-down), sorted by
    volume descending. Columns code, 地区, 数量. ``flt.province_code`` applies when
    ``province_code`` is not given."""
    return _volume_by_region(session, flt, province_code)


def _volume_by_region(
    session: Session, flt: ReportFilter, province_code: str | None = None
) -> pd.DataFrame:
    province_code = province_code or flt.province_code
    if province_code:
        rows = rollup_rows(CITY, flt, "month", ("city_code",), province=province_code)
        key = rows.c.city_code
    else:
        rows = rollup_rows(COUNT, flt, "month", ("province_code",), province=None)
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
    """趋势: inquiries per bucket (Shanghai day, Monday week or month) and intent, the buckets and
    intents with inquiries (the page shows ``every_bucket`` of it). Columns 期间 (datetime of
    the bucket start), bucket (its ISO date), intent, 数量, 询保内容; by bucket, then intent."""
    rows = rollup_rows(COUNT, flt, flt.granularity, ("intent",), province=province_of(flt))
    found = [
        (_as_date(bucket), intent, int(n))
        for bucket, intent, n in session.execute(summed(rows, "bucket", "intent")).all()
    ]
    return _trend_frame(found)


def _as_date(value: Any) -> date:
    # SQLite hands back the literal bucket of the period's edges as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _trend_frame(found: list[tuple[date, str, int]]) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "期间": pd.to_datetime([b for b, _, _ in found]),
            "bucket": [b.isoformat() for b, _, _ in found],
            "intent": [i for _, i, _ in found],
            "数量": pd.Series([n for _, _, n in found], dtype="int64"),
        }
    )
    df["询保内容"] = df["intent"].map(INTENT_LABELS)
    return df


def every_bucket(df: pd.DataFrame, flt: ReportFilter) -> pd.DataFrame:
    """``trend`` with every bucket of the period and every intent of the filter, 0 where none
    came: a day without inquiries is a zero, not a gap a line is drawn over. 全部 begins at the
    first bucket with inquiries, not in 2000. Ordered by bucket, then intent."""
    counts = {(b, i): int(n) for b, i, n in df[["bucket", "intent", "数量"]].values}
    first = None
    if flt.since_the_beginning:
        first = min((date.fromisoformat(b) for b, _ in counts), default=flt.end + timedelta(days=1))
    return _trend_frame(
        [
            (b, i, counts.get((b.isoformat(), i), 0))
            for b in buckets(flt, first)
            for i in flt.intent_codes
        ]
    )


def _status_mix(session: Session, flt: ReportFilter) -> pd.DataFrame:
    """处理效率: submitted vs completed per intent. Columns intent, status, 数量, 询保内容, 状态."""
    rows = rollup_rows(COUNT, flt, "month", ("intent", "status"), province=province_of(flt))
    df = pd.DataFrame(
        session.execute(summed(rows, "intent", "status")).all(),
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
    rows = rollup_rows(HOURS, flt, "month", ("hours",), province=province_of(flt))
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
        rows = rollup_rows(
            COUNT, flt, "month", ("status",), province=province_of(flt), end=last_whole
        )
        stmt = sa.select(sa.func.coalesce(sa.func.sum(rows.c.n), 0)).where(
            rows.c.status == Status.submitted.value
        )
        total += int(session.execute(stmt).scalar_one())
    if flt.start <= cutoff_day <= flt.end:
        day = replace(flt, start=cutoff_day, end=cutoff_day)
        stmt = (
            sa.select(sa.func.count())
            .select_from(INQUIRY)
            .where(
                *where_of(day),
                INQUIRY.c.status == Status.submitted.value,
                INQUIRY.c.submitted_at < cutoff.astimezone(UTC),
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


@dataclass
class Report:
    """Every section of the report page for one filter, as the page and the report file show
    them: ``by_intent`` lists every intent of the filter, ``trend`` and ``share`` every bucket
    of the period (zeros included). ``regions`` are the provinces, or the cities of
    ``flt.province_code``."""

    flt: ReportFilter
    made_at: datetime
    overview: pd.DataFrame
    by_intent: pd.DataFrame
    share: pd.DataFrame
    regions: pd.DataFrame
    trend: pd.DataFrame
    status_mix: pd.DataFrame
    completion_time: pd.DataFrame
    overdue: int
    workload: pd.DataFrame | None  # None when not asked for (``report(workload=False)``)

    @property
    def total(self) -> int:
        return int(self.overview.set_index("指标").loc["新增咨询", "当前"])


@managers_only
def report(
    session: Session, flt: ReportFilter, *, now: datetime | None = None, workload: bool = True
) -> Report:
    """The whole report for ``flt`` in one call (one check of the actor), as the page and the
    file show it: every intent (``every_intent``) and every bucket (``every_bucket``).
    ``workload=False`` leaves out 人员工作量, the one section that reads ``inquiry`` (the page
    fetches it on its own, last, so that the rest shows meanwhile)."""
    from dashboard.workload import _workload as people_load  # it builds on this module

    now = now or utcnow()
    trend = every_bucket(_trend(session, flt), flt)
    return Report(
        flt=flt,
        made_at=now,
        overview=_overview(session, flt),
        by_intent=every_intent(_volume_by_intent(session, flt), flt),
        share=with_shares(trend),
        regions=_volume_by_region(session, flt),
        trend=trend,
        status_mix=_status_mix(session, flt),
        completion_time=_completion_time_distribution(session, flt),
        overdue=_overdue_count(session, flt, now=now),
        workload=people_load(session, flt, now=now) if workload else None,
    )
