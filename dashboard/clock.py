"""Time as the business counts it: Asia/Shanghai calendar days, working days, waiting time.

Times are stored as UTC (``models.utcnow``) and shown in Asia/Shanghai. The insurer works on
Beijing time whatever the server's zone, so the zone is a constant, not a setting; the SQL that
buckets days (``dashboard.dialect``) says the same zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: How a time is shown everywhere: pages, exports, the audit trail.
TIME_FORMAT = "%Y-%m-%d %H:%M"
#: The first day any period may start on (the product holds nothing older).
EARLIEST = date(2000, 1, 1)


def local_time(value: datetime | None) -> datetime | None:
    """A stored UTC time as Asia/Shanghai time, for display."""
    return value.astimezone(SHANGHAI) if value else None


def show(value: datetime | None) -> str:
    """A stored time as the pages print it (``2026-11-30 14:05``), or "" for none."""
    return value.astimezone(SHANGHAI).strftime(TIME_FORMAT) if value else ""


def today(now: datetime | None = None) -> date:
    """Today's calendar day in Asia/Shanghai."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def day_start_utc(day: date) -> datetime:
    """The UTC instant at which an Asia/Shanghai calendar day begins."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def overdue_cutoff(now: datetime, working_days: int) -> datetime:
    """Inquiries submitted before this instant have waited more than ``working_days`` working
    days (Monday–Friday, Asia/Shanghai; public holidays are not modelled).

    Steps back one working day at a time from ``now``, keeping the clock time, so an inquiry
    submitted on Friday 10:00 becomes overdue after 2 working days on Tuesday 10:00.
    """
    local = now.astimezone(SHANGHAI)
    while local.weekday() >= 5:  # at the weekend the clock stands still at Friday's end
        local = datetime.combine(local.date() - timedelta(days=1), time.max, tzinfo=SHANGHAI)
    for _ in range(working_days):
        local -= timedelta(days=1)
        while local.weekday() >= 5:
            local -= timedelta(days=1)
    return local


def is_overdue(status: str, submitted_at: datetime | None, cutoff: datetime) -> bool:
    """Whether an inquiry is 超时: still submitted (not completed) and submitted before
    ``cutoff`` (``overdue_cutoff``)."""
    return status == "submitted" and submitted_at is not None and submitted_at < cutoff


def waited(submitted_at: datetime | None, completed_at: datetime | None, now: datetime) -> str:
    """How long an inquiry has waited (until completed, or until ``now``): ``3小时``,
    ``2天5小时``; "" before it was submitted."""
    if submitted_at is None:
        return ""
    hours = int(((completed_at or now) - submitted_at).total_seconds() // 3600)
    return f"{hours // 24}天{hours % 24}小时" if hours >= 24 else f"{hours}小时"


#: Named periods offered by the pages, in order (咨询处理's date filter uses the first four).
PERIODS = ("今天", "本周", "本月", "上月", "近30天", "近12个月", "今年", "全部")


def period(name: str, day: date) -> tuple[date, date]:
    """The (start, end) Asia/Shanghai days, both inclusive, of a named period ending ``day``."""
    month_start = day.replace(day=1)
    if name == "今天":
        return day, day
    if name == "本周":
        return day - timedelta(days=day.weekday()), day
    if name == "本月":
        return month_start, day
    if name == "上月":
        end = month_start - timedelta(days=1)
        return end.replace(day=1), end
    if name == "近30天":
        return day - timedelta(days=29), day
    if name == "近12个月":
        year, month = day.year - 1, day.month + 1
        if month == 13:
            year, month = year + 1, 1
        return date(year, month, 1), day
    if name == "今年":
        return date(day.year, 1, 1), day
    if name == "全部":
        return EARLIEST, day
    raise ValueError(f"unknown period: {name}")
