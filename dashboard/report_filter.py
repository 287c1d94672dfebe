"""What the report page (统计报表) is restricted to: ``ReportFilter`` (period, intents, province,
granularity) and its URL, the periods it opens on, the buckets of a period, and whole shares
that add up to 100 %. No SQL: ``dashboard.reports`` computes the sections for a filter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from dashboard import clock, regions
from models import INTENT_LABELS

GRANULARITIES = {"day": "日", "week": "周", "month": "月"}

QUICK_PERIODS = ("本月", "上月", "近30天", "近12个月", "今年", "全部")
#: The period the page opens on. A whole month back from today, not 本月: on the first days of a
#: month 本月 holds a day or nothing, and its charts a single point.
DEFAULT_PERIOD = "近30天"


def default_granularity(start: date, end: date) -> str:
    """The bucket that gives a readable trend for a period: days up to two months (at most 62
    points), Monday weeks up to half a year (at most 27), months beyond."""
    days = (end - start).days + 1
    if days <= 62:
        return "day"
    return "week" if days <= 183 else "month"


def default_filter(today: date) -> ReportFilter:
    """What the report page shows when its URL says nothing: ``DEFAULT_PERIOD`` ending today."""
    start, end = clock.period(DEFAULT_PERIOD, today)
    return ReportFilter(start, end, granularity=default_granularity(start, end))


def largest_remainder(counts: list[int], total: int = 100) -> list[int]:
    """Whole shares of ``total`` proportional to ``counts`` that add up to exactly ``total``
    (Hamilton's largest remainder method); all zeros when the counts are. Rounding each share
    alone shows 31 % + 59 % + 11 % = 101 %."""
    whole = sum(counts)
    if not whole:
        return [0 for _ in counts]
    exact = [n * total / whole for n in counts]
    shares = [int(x) for x in exact]
    # Ties go to the larger count, then to the earlier one: the same input always rounds alike.
    order = sorted(range(len(counts)), key=lambda i: (shares[i] - exact[i], -counts[i], i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def shares_of(counts: list[int]) -> list[float]:
    """Shares as fractions that print (``{:.0%}``) as whole percentages adding up to 100 %."""
    return [p / 100 for p in largest_remainder(counts)]


#: Report URL keys before they were renamed apart from the triage page's, still read.
OLD_PARAM_KEYS = {"start": "from", "end": "to", "intents": "intent", "region": "province"}


@dataclass(frozen=True)
class ReportFilter:
    """What every section of the report page is restricted to; hashable, so it keys caches.

    ``start``/``end`` are Asia/Shanghai calendar days, both inclusive. ``intents`` empty = all.
    ``start == clock.EARLIEST`` is 全部: the trend then begins at the first bucket with data.
    """

    start: date
    end: date
    intents: tuple[str, ...] = ()
    province_code: str | None = None
    granularity: str = "week"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def intent_codes(self) -> tuple[str, ...]:
        """The intents counted (those chosen, or every one), in the order of ``INTENT_LABELS``."""
        return tuple(i for i in INTENT_LABELS if not self.intents or i in self.intents)

    @property
    def since_the_beginning(self) -> bool:
        return self.start <= clock.EARLIEST

    def previous(self) -> ReportFilter:
        """The same filter over the period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return replace(self, start=end - timedelta(days=self.days - 1), end=end)

    def to_params(self) -> dict[str, str]:
        """The URL parameters of this view. Their names differ from the triage page's
        (``queries.conditions``), so a link to one page never sets the other's filters."""
        out = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "granularity": self.granularity,
        }
        if self.intents:
            out["intents"] = ",".join(self.intents)
        if self.province_code:
            out["region"] = self.province_code
        return out

    @classmethod
    def from_params(cls, params: Any, *, default: ReportFilter) -> tuple[ReportFilter, list[str]]:
        """Parse URL parameters; anything invalid falls back to ``default`` with a notice."""
        notices: list[str] = []

        def get(key: str) -> str:
            value = params.get(key)
            if value is None and key in OLD_PARAM_KEYS:  # a link made before the keys changed
                value = params.get(OLD_PARAM_KEYS[key])
            if isinstance(value, list):
                value = value[-1] if value else None
            return str(value) if value is not None else ""

        start, end = default.start, default.end
        try:
            if get("start") or get("end"):
                start = date.fromisoformat(get("start") or default.start.isoformat())
                end = date.fromisoformat(get("end") or default.end.isoformat())
                if start > end or start < clock.EARLIEST or end > date(2100, 1, 1):
                    raise ValueError
        except ValueError:
            start, end = default.start, default.end
            notices.append("链接中的日期范围无效，已使用默认期间")
        intents: tuple[str, ...] = default.intents
        if get("intents"):
            raw = tuple(dict.fromkeys(get("intents").split(",")))
            if all(i in INTENT_LABELS for i in raw):
                intents = raw
            else:
                notices.append("链接中的询保内容无效，已忽略")
        province = default.province_code
        if get("region"):
            region = regions.get(get("region"))
            if region is not None and get("region") in {p.code for p in regions.provinces()}:
                province = get("region")
            else:
                notices.append("链接中的省份无效，已忽略")
        # Without a granularity in the link, the period's own (a link to a year by days would
        # draw 365 points); the default's when the period is the default's.
        granularity = (
            default.granularity
            if (start, end) == (default.start, default.end)
            else default_granularity(start, end)
        )
        if get("granularity"):
            if get("granularity") in GRANULARITIES:
                granularity = get("granularity")
            else:
                notices.append(f"链接中的时间粒度无效，已按{GRANULARITIES[granularity]}统计")
        flt = cls(start, end, intents, province, granularity)
        return flt, notices


def bucket_start(day: date, granularity: str) -> date:
    """The first day of the Shanghai day/week (Monday)/month holding ``day``."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, granularity: str) -> date:
    """The first day of the bucket after the one starting on ``start``."""
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def buckets(flt: ReportFilter, first: date | None = None) -> list[date]:
    """The first day of every bucket of the period, in order: the buckets at its edges are
    partial (a week that began before the period starts on its Monday all the same). ``first``
    replaces the period's start (全部 begins where the data does)."""
    out = []
    at = bucket_start(first or flt.start, flt.granularity)
    while at <= flt.end:
        out.append(at)
        at = next_bucket(at, flt.granularity)
    return out


def bucket_days(flt: ReportFilter, bucket: date) -> tuple[date, date]:
    """The days of the period that a bucket counts (first, last, inclusive): the bucket cut to
    the period, so a week that began before the period counts only the period's days of it."""
    last = next_bucket(bucket, flt.granularity) - timedelta(days=1)
    return max(bucket, flt.start), min(last, flt.end)
