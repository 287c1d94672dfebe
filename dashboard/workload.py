"""人员工作量 for the report page: per person who can be assigned inquiries, and 未分配, of the
inquiries submitted in a report's period: waiting, completed, the median time to complete and
overdue. Unlike the other sections it reads ``inquiry``, since the rollup has no assignee."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from dashboard import clock, dialect, rollup
from dashboard.report_filter import ReportFilter
from dashboard.report_sql import median_from_histogram, where_of
from dashboard.reports import managers_only
from dashboard.settings import get_settings
from models import Inquiry, Role, Status, User, utcnow

_T = Inquiry.__table__

UNASSIGNED = "none"  # the workload row of inquiries nobody has (triage's ``assignee`` value)
UNASSIGNED_LABEL = "未分配"
WORKLOAD_COLUMNS = ("assignee", "负责人", "待处理", "已完成", "完成用时中位数（小时）", "超时")


def _hours_to_complete(session: Session) -> sa.ColumnElement:
    """The ``report_hours`` bucket of an inquiry's whole hours from submission to completion,
    the same SQL the rollup's triggers use, so a person's median is computed as the period's."""
    name = dialect.name(session)
    hours = dialect.hours_between(name, "inquiry.submitted_at", "inquiry.completed_at")
    return sa.literal_column(rollup.hour_bucket_sql(hours))


def _workload(session: Session, flt: ReportFilter, *, now: datetime | None = None) -> pd.DataFrame:
    # The rollup has no assignee (an assignment would move counts between rows on every claim),
    # so this reads ``inquiry``: one GROUP BY over the period's rows, through the date index, by
    # person, status, overdue or not, and the hour bucket of a completion (for the median).
    cutoff = clock.overdue_cutoff(now or utcnow(), get_settings().sla_working_days)
    who = _T.c.assignee_id
    waiting = _T.c.status == Status.submitted.value
    done = (_T.c.status == Status.completed.value) & _T.c.completed_at.is_not(None)
    late = sa.case((waiting & (_T.c.submitted_at < cutoff), 1), else_=0).label("late")
    hours = sa.case((done, _hours_to_complete(session))).label("h")
    stmt = (
        sa.select(who, _T.c.status, late, hours, sa.func.count())
        .where(*where_of(flt))
        .group_by(who, _T.c.status, late, hours)
        .order_by(who, hours)
    )
    counts: dict[int | None, list[int]] = {}  # person → [waiting, completed, overdue]
    histograms: dict[int | None, list[tuple[int, int]]] = {}
    for person, status, is_late, h, n in session.execute(stmt).all():
        tally = counts.setdefault(person, [0, 0, 0])
        if status == Status.submitted.value:
            tally[0] += n
            tally[2] += n if is_late else 0
        else:
            tally[1] += n
            if h is not None:
                histograms.setdefault(person, []).append((int(h), int(n)))
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
