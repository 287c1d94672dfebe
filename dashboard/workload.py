"""人员工作量 for the report page: per person who can be assigned inquiries, and 未分配, of the
inquiries submitted in a report's period: waiting, completed, the median time to complete and
overdue. The whole country's completions come from the rollup (``report_workload``), one
province's from ``inquiry``; the waiting inquiries from ``inquiry``, since whether one is overdue
depends on the moment of reading."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from dashboard import clock, dialect, rollup
from dashboard.report_filter import ReportFilter
from dashboard.report_sql import median_from_histogram, rollup_rows, summed, where_of
from dashboard.reports import managers_only
from dashboard.settings import get_settings
from models import Inquiry, ReportWorkload, Role, Status, User, utcnow

_T = Inquiry.__table__
WORKLOAD = ReportWorkload.__table__

UNASSIGNED = "none"  # the workload row of inquiries nobody has (triage's ``assignee`` value)
UNASSIGNED_LABEL = "未分配"
WORKLOAD_COLUMNS = ("assignee", "负责人", "待处理", "已完成", "完成用时中位数（小时）", "超时")


def _completions(session: Session, flt: ReportFilter) -> list[tuple[int | None, int, int]]:
    """(person or None, hour bucket, n) of the period's completions. The whole country's from the
    rollup (``report_workload``; assignee 0: nobody): a few thousand rows whatever the period,
    where one GROUP BY over ``inquiry`` took seconds. One province's from ``inquiry`` (a
    province holds up to 15 % of the rows; the rollup counts no provinces, see
    ``dashboard.rollup``), by whole hours in the triggers' SQL, bucketed here as they bucket
    them."""
    if not flt.province_code:
        done = rollup_rows(WORKLOAD, flt, "month", ("assignee", "hours"), province=rollup.ALL)
        rows = session.execute(summed(done, "assignee", "hours")).all()
        return [(int(who) or None, int(h), int(n)) for who, h, n in rows]
    hours = sa.literal_column(
        dialect.hours_between(dialect.name(session), "inquiry.submitted_at", "inquiry.completed_at")
    )
    stmt = (
        sa.select(_T.c.assignee_id, hours, sa.func.count())
        .where(
            *where_of(flt),
            _T.c.status == Status.completed.value,
            _T.c.completed_at.is_not(None),
        )
        .group_by(_T.c.assignee_id, hours)
    )
    buckets: dict[tuple[int | None, int], int] = {}
    for who, h, n in session.execute(stmt).all():
        key = (who, rollup.hour_bucket(int(h)))
        buckets[key] = buckets.get(key, 0) + int(n)
    return [(who, h, n) for (who, h), n in sorted(buckets.items(), key=lambda kv: kv[0][1])]


#: The columns the waiting count reads, free of the table: on SQLite the statement names its FROM
#: itself (``_waiting``).
_WAITING_COLUMNS = SimpleNamespace(**{col.name: sa.column(col.name, col.type) for col in _T.c})


def _waiting(session: Session, flt: ReportFilter, cutoff: datetime) -> sa.Select:
    """(person or None, waiting, overdue at ``cutoff``) of the period, from the partial index
    ``ix_inquiry_waiting`` alone (migration 0020; about 4 % of the rows, with every column read).
    PostgreSQL picks it itself; SQLite's planner prefers ``ix_inquiry_status_intent_submitted``,
    which reads the table for each waiting row (4x slower at 1M rows), so it is named there."""
    c = _WAITING_COLUMNS
    late = sa.case((c.submitted_at < cutoff, 1), else_=0)
    source = _T
    if dialect.name(session) == dialect.SQLITE:
        source = sa.text("inquiry INDEXED BY ix_inquiry_waiting")
    return (
        sa.select(c.assignee_id, sa.func.count(), sa.func.sum(late))
        .select_from(source)
        # A literal, not a bound value: SQLite uses a partial index only for a WHERE that
        # implies the index's own, and cannot tell that of a parameter ("no query solution").
        .where(*where_of(flt, c), c.status == sa.literal_column(f"'{Status.submitted.value}'"))
        .group_by(c.assignee_id)
    )


def _workload(session: Session, flt: ReportFilter, *, now: datetime | None = None) -> pd.DataFrame:
    counts: dict[int | None, list[int]] = {}  # person → [waiting, completed, overdue]
    histograms: dict[int | None, list[tuple[int, int]]] = {}  # person → [(hour bucket, n)]
    for person, h, n in _completions(session, flt):
        counts.setdefault(person, [0, 0, 0])[1] += n
        histograms.setdefault(person, []).append((h, n))
    # The waiting ones from ``inquiry``: whether one is overdue depends on the moment of
    # reading, which no stored count can know.
    cutoff = clock.overdue_cutoff(now or utcnow(), get_settings().sla_working_days)
    for person, n, n_late in session.execute(_waiting(session, flt, cutoff)).all():
        tally = counts.setdefault(person, [0, 0, 0])
        tally[0] += int(n)
        tally[2] += int(n_late or 0)
    # Everyone who can be assigned inquiries is listed, idle or not: who has room matters as
    # much as who is overloaded. Former staff still holding inquiries of the period are too.
    by_id = {person: tuple(tally) for person, tally in counts.items()}
    people = session.execute(
        sa.select(User.id, User.display_name, User.username, User.is_active).where(
            sa.or_(
                User.id.in_([i for i in by_id if i is not None]),
                User.role.in_((Role.staff.value, Role.manager.value)) & User.is_active,
            )
        )
    ).all()
    rows = []
    for uid, display_name, username, active in people:
        label = (display_name or username) + ("" if active else "（已停用）")
        rows.append((str(uid), label, *by_id.get(uid, (0, 0, 0)), histograms.get(uid, [])))
    rows.append(
        (UNASSIGNED, UNASSIGNED_LABEL, *by_id.get(None, (0, 0, 0)), histograms.get(None, []))
    )
    df = pd.DataFrame(
        [(key, label, w, d, median_from_histogram(h), o) for key, label, w, d, o, h in rows],
        columns=list(WORKLOAD_COLUMNS),
    )
    for column in ("待处理", "已完成", "超时"):
        df[column] = df[column].astype("int64")
    df["完成用时中位数（小时）"] = df["完成用时中位数（小时）"].astype("float64")
    return df.sort_values(
        ["待处理", "超时", "负责人"], ascending=[False, False, True], ignore_index=True
    )


@managers_only
def workload(session: Session, flt: ReportFilter, *, now: datetime | None = None) -> pd.DataFrame:
    """人员工作量: per person who can be assigned inquiries (active staff and managers, and
    anyone else holding inquiries of the period) and one row 未分配, of the inquiries submitted
    in the period: 待处理 (still submitted), 已完成, 完成用时中位数（小时） (NaN without any;
    within an hour, as the overview's) and 超时 (waiting longer than the SLA at ``now``).
    Columns ``WORKLOAD_COLUMNS``; ``assignee`` is the triage page's value (a user id, or
    ``UNASSIGNED``). Sorted by 待处理, then 超时, most first."""
    return _workload(session, flt, now=now)
