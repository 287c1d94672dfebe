"""Drill-through: from a mark of the report page (统计报表) to the inquiries behind it on 咨询处理.

A mark is a bar, a point or a row of the report: a bucket of the trend, an intent, a province or
city, a status, an assignee, the overdue ones, or the whole period. ``inquiries_of`` turns the
report's filter and the mark into the ``InquiryFilter`` whose count is the mark's value, and its
``to_params`` are the triage page's URL (``conditions.FIELDS``: status, intent, province, city,
from, to, assignee, overdue, hours).

Both sides count the same inquiries: submitted and completed ones (the triage page never lists
drafts), by the Asia/Shanghai calendar day of ``submitted_at`` (the rollup's buckets and the
triage page's 提交日期 filter, ``clock.day_start_utc``), and the overdue ones by the same cutoff
(``clock.overdue_cutoff``). tests/test_drill.py compares random marks with ``queries.count``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dashboard import clock, queries, regions, reports
from dashboard.queries import InquiryFilter
from dashboard.reports import ReportFilter
from dashboard.workload import UNASSIGNED
from models import Status

#: The statuses a mark may stand for (a report counts no drafts).
STATUSES = (Status.submitted.value, Status.completed.value)


@dataclass(frozen=True)
class Mark:
    """What one mark of a chart or table counts, on top of the report's filter. Every field is
    optional; the values come from the browser (a clicked datum), so ``inquiries_of`` checks
    them and ignores what is not a real code."""

    bucket: str | None = None  # the ISO first day of a trend bucket (``reports.buckets``)
    intent: str | None = None
    region: str | None = None  # a province, or a city of the report's province or of ``province``
    province: str | None = None  # the province of a city bar drilled down from 全部省份
    status: str | None = None
    assignee: str | None = None  # a user id, or ``UNASSIGNED``
    overdue: bool = False
    completion: str | None = None  # a bar of 处理用时分布: its 序号 in ``COMPLETION_BUCKETS``


def _bucket_days(flt: ReportFilter, bucket: str | None) -> tuple[date | None, date | None]:
    """The days a mark counts: its bucket cut to the period, else (no bucket, or not one of the
    period's) the whole period. 全部 has no first day (the triage page's 不限)."""
    start, end = flt.start, flt.end
    try:
        day = date.fromisoformat(bucket) if bucket else None
    except ValueError:
        day = None
    if day is not None and day == reports.bucket_start(day, flt.granularity):
        first, last = reports.bucket_days(flt, day)
        if first <= last:
            start, end = first, last
    return (None if start <= clock.EARLIEST else start), end


def _region(flt: ReportFilter, mark: Mark) -> tuple[str | None, str | None]:
    """(province, city) of the mark: a province bar, a city bar (of the report's province, or of
    the province drilled into), or the report's province."""
    province = flt.province_code or (mark.province if _is_province(mark.province) else None)
    code = mark.region
    if _is_province(code) and (province is None or province == code):
        return code, None
    if province and code in {c.code for c in regions.cities(province)}:
        return province, code
    return province, None


def _is_province(code: str | None) -> bool:
    return bool(code) and code in {p.code for p in regions.provinces()}


def inquiries_of(
    flt: ReportFilter, mark: Mark | None = None, *, actor_id: int | None = None
) -> InquiryFilter:
    """The triage filter of exactly the inquiries a mark counts.

    ``actor_id``: the manager looking. The triage page offers a colleague as 负责人 by id but
    the viewer only as 我 (``me``), so a mark of the viewer's own row says ``me``.
    """
    mark = mark or Mark()
    start, end = _bucket_days(flt, mark.bucket)
    intents = flt.intents
    if mark.intent in flt.intent_codes:  # never widened to an intent the report leaves out
        intents = (mark.intent,)
    province, city = _region(flt, mark)
    assignee = ""
    if mark.assignee == UNASSIGNED:
        assignee = "none"
    elif mark.assignee and mark.assignee.isdigit() and len(mark.assignee) < 10:
        assignee = (
            "me" if actor_id is not None and int(mark.assignee) == actor_id else mark.assignee
        )
    status = mark.status if mark.status in STATUSES else None
    completion = _completion(mark.completion)
    if completion:
        status = Status.completed.value  # only a completed inquiry has a time to complete
    return InquiryFilter(
        # Both statuses written out: the triage page shows only 已提交 when its URL is silent.
        statuses=(status,) if status else STATUSES,
        intents=tuple(intents),
        province_code=province,
        city_code=city,
        submitted_from=start,
        submitted_to=end,
        assignee=assignee,
        overdue=mark.overdue,
        completion=completion,
    )


def _completion(index: str | None) -> str:
    """The triage page's 处理用时 of a histogram bar (its 序号), "" if it is not one."""
    keys = queries.COMPLETION_KEYS
    return keys[int(index)] if index and index.isdigit() and int(index) < len(keys) else ""


def triage_params(
    flt: ReportFilter, mark: Mark | None = None, *, actor_id: int | None = None
) -> dict[str, str]:
    """The triage page's URL parameters for a mark (``inquiries_of(...).to_params()``)."""
    return inquiries_of(flt, mark, actor_id=actor_id).to_params()
