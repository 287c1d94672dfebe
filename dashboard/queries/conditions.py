"""The filter conditions: one table, ``FIELDS``, with a row per field of ``InquiryFilter``.

A row says all there is to say about one field: its name, type and default (``filter.py`` makes
the ``InquiryFilter`` dataclass from them), its URL query parameter and how that text is read and
written (``InquiryFilter.from_params`` / ``to_params``), and the WHERE condition it adds — SQL
expression and bind parameter name — when it differs from its default (``where``, which every
page, count, facet count, export and duplicate lookup runs). For example the province::

    FilterField(
        "province_code", "str | None", None, url_key="province", label="省/市",
        read=_province,
        condition=simple(
            Condition("province is", lambda v: Inquiry.province_code == v, bind="province")
        ),
    ),

``InquiryFilter(province_code="440000")`` is ``?province=440000`` in a link and adds
``inquiry.province_code = :province`` (bound to ``"440000"``) to every statement of the page.

Who may see what (``visibility``) is not a field: it comes from the actor, never from a URL.

Adding a filter field
---------------------
1. ``dashboard/queries/conditions.py``: a ``FilterField`` row in ``FIELDS``. The dataclass
   field, the URL round trip, the WHERE clause, the counts, facets, exports and the statement
   cache follow from it.
2. ``dashboard/views/triage.py``: the widget in ``sidebar``, with the key ``K + <URL key>``,
   holding the field's value (a list for a tuple, "" for None). Seeding it from the URL
   (``_init_from_url``), reading it (``filter_from_widgets``) and keeping it across pages
   (``VIEW_WIDGETS``) read the table.
3. ``tests/test_queries.py``: a value for the field in ``SAMPLES`` (the table's tests, which
   check its URL round trip and its condition, fail without one), and the rows it selects as a
   case of ``test_each_filter_alone_and_combined_selects_exactly_its_rows``.
4. Only if the condition needs an index: a migration in ``data/migrations/versions/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from dashboard import regions
from dashboard.clock import day_start_utc, overdue_cutoff
from dashboard.dialect import hours_between, nulls_sort_last
from dashboard.errors import NotAllowed
from dashboard.inquiries import STAFF_ROLES
from dashboard.queries import search
from dashboard.queries.statements import Condition, Where
from dashboard.settings import get_settings
from models import COMPLETION_BUCKETS, INTENT_LABELS, Inquiry, Role, Status, User, utcnow

#: What the triage page shows when the URL says nothing about the status.
DEFAULT_STATUSES = (Status.submitted.value,)


@dataclass(frozen=True)
class Scope:
    """What a condition may depend on besides the field's value."""

    actor: User
    search: search.Search
    now: datetime | None
    dense: bool


class Ignored(ValueError):
    """A URL value that is not used; ``notice`` tells the user (a default one when empty)."""

    def __init__(self, notice: str = "") -> None:
        super().__init__(notice)
        self.notice = notice


@dataclass
class UrlReading:
    """``InquiryFilter.from_params`` under way: the status codes the page offers, the values
    read so far (a field may depend on an earlier one) and the notices."""

    statuses: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


_SAME: Any = object()


@dataclass(frozen=True)
class FilterField:
    """One filter field. ``read`` turns the (stripped, non-empty) URL text into the value or
    raises ``Ignored``; ``write`` is its inverse. ``condition`` gives the WHERE condition of a
    value other than ``default`` and what to bind to it, or None for no condition.
    ``url_default`` is what a link without the parameter means (``default`` unless said)."""

    name: str
    type: str
    default: Any
    url_key: str
    label: str
    read: Callable[[str, UrlReading], Any]
    condition: Callable[[Any, Scope], tuple[Condition, Any] | None]
    write: Callable[[Any], str] = str
    url_default: Any = _SAME
    #: What every value is made into, however the filter was built (a widget, a URL, a caller).
    normalize: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.url_default is _SAME:
            object.__setattr__(self, "url_default", self.default)


def simple(
    condition: Condition, bound: Callable[[Any], Any] = lambda v: v
) -> Callable[[Any, Scope], tuple[Condition, Any]]:
    """The condition of a field whose every non-default value means ``condition``, bound to
    ``bound(value)``."""
    return lambda value, scope: (condition, bound(value))


# --------------------------------------------------------------------------------------------
# Reading URL values


def _codes(raw: str, allowed: Mapping[str, Any] | tuple[str, ...], reading: UrlReading, label: str):
    codes = [c for c in raw.split(",") if c]
    good = tuple(dict.fromkeys(c for c in codes if c in allowed))
    if len(good) != len(set(codes)):
        reading.notices.append(f"链接中的{label}参数无效，已忽略无效部分")
    return good


def _statuses(raw: str, reading: UrlReading) -> tuple[str, ...]:
    if raw == "all":
        return ()
    return _codes(raw, reading.statuses, reading, "申请状态") or DEFAULT_STATUSES


def _intents(raw: str, reading: UrlReading) -> tuple[str, ...]:
    return _codes(raw, INTENT_LABELS, reading, "询保内容")


def _province(raw: str, reading: UrlReading) -> str:
    if regions.get(raw) is None or raw not in {r.code for r in regions.provinces()}:
        raise Ignored
    return raw


def _city(raw: str, reading: UrlReading) -> str:
    province = reading.values.get("province_code")
    if province is None or raw not in {r.code for r in regions.cities(province)}:
        raise Ignored
    return raw


def _day(raw: str, reading: UrlReading) -> date:
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise Ignored from None
    if not 2000 <= value.year <= 2100:
        raise Ignored
    return value


def _last_day(raw: str, reading: UrlReading) -> date:
    value = _day(raw, reading)
    start = reading.values.get("submitted_from")
    if start and start > value:
        reading.values["submitted_from"] = None
        raise Ignored("链接中的开始日期晚于结束日期，已忽略日期范围")
    return value


def _assignee(raw: str, reading: UrlReading) -> str:
    if raw in ("me", "none") or (raw.isdigit() and len(raw) < 10):
        return raw
    raise Ignored


def _flag(raw: str, reading: UrlReading) -> bool:
    if raw not in ("0", "1"):
        raise Ignored
    return raw == "1"


def _completion_bucket(raw: str, reading: UrlReading) -> str:
    if raw in COMPLETION_KEYS:
        return raw
    raise Ignored


def _search_text(raw: str, reading: UrlReading) -> str:
    term, notices = search.clean_search(raw)
    reading.notices += notices
    return term


# --------------------------------------------------------------------------------------------
# Conditions that take more than one line


ASSIGNED_TO = Condition("assigned to", lambda v: Inquiry.assignee_id == v, bind="assignee_id")
UNASSIGNED = Condition("unassigned", lambda _: Inquiry.assignee_id.is_(None))
OVERDUE = Condition(
    "overdue",
    lambda v: (Inquiry.status == Status.submitted.value) & (Inquiry.submitted_at < v),
    bind="cutoff",
)


#: The URL values of 处理用时: ``"0-4"``, ``"4-24"`` … ``"168-"`` (``models.COMPLETION_BUCKETS``).
COMPLETION_KEYS = tuple(f"{lo}-{'' if hi is None else hi}" for _, lo, hi in COMPLETION_BUCKETS)


def _completion_condition(dialect_name: str) -> Condition:
    """Completed, in the bucket (its index bound) of the whole hours to completion: the rollup's
    own expression (``dialect.hours_between``), so the triage count equals the report's bar."""
    hours = sa.literal_column(
        hours_between(dialect_name, "inquiry.submitted_at", "inquiry.completed_at")
    )
    bucket = sa.case(
        *((hours < hi, i) for i, (_, _, hi) in enumerate(COMPLETION_BUCKETS) if hi is not None),
        else_=len(COMPLETION_BUCKETS) - 1,
    )
    return Condition(
        f"completed within ({dialect_name})",
        lambda v: (
            (Inquiry.status == Status.completed.value)
            & Inquiry.completed_at.is_not(None)
            & (bucket == v)
        ),
        bind="hours_bucket",
    )


COMPLETED_WITHIN = {name: _completion_condition(name) for name in ("sqlite", "postgresql")}


def _completed_within(value: str, scope: Scope) -> tuple[Condition, Any] | None:
    """Completed in the time bucket ``value`` (one of ``COMPLETION_KEYS``)."""
    if value not in COMPLETION_KEYS:
        return None
    return COMPLETED_WITHIN[scope.search.dialect], COMPLETION_KEYS.index(value)


def _assigned(value: str, scope: Scope) -> tuple[Condition, Any] | None:
    """``"me"`` (the actor), ``"none"`` (unassigned) or a user id."""
    if value == "none":
        return UNASSIGNED, None
    if value == "me":
        return ASSIGNED_TO, scope.actor.id
    return (ASSIGNED_TO, int(value)) if value.isdigit() else None


def _overdue(value: bool, scope: Scope) -> tuple[Condition, Any]:
    """Submitted and waiting longer than ``settings.sla_working_days`` working days."""
    return OVERDUE, overdue_cutoff(scope.now or utcnow(), get_settings().sla_working_days)


def _searched(term: str, scope: Scope) -> tuple[Condition, Any]:
    """The backend's condition for the term (see search.py)."""
    return scope.search.condition(term, dense=scope.dense)


def _joined(codes: tuple[str, ...]) -> str:
    return ",".join(codes)


# --------------------------------------------------------------------------------------------
# The table

FIELDS: tuple[FilterField, ...] = (
    FilterField(
        "statuses", "tuple[str, ...]", (), url_key="status", label="申请状态",
        read=_statuses, write=lambda v: _joined(v) or "all", url_default=DEFAULT_STATUSES,
        condition=simple(
            Condition("status in", lambda v: Inquiry.status.in_(v), "statuses", expanding=True),
            list,
        ),
    ),
    FilterField(
        "intents", "tuple[str, ...]", (), url_key="intent", label="询保内容",
        read=_intents, write=_joined,
        condition=simple(
            Condition("intent in", lambda v: Inquiry.intent.in_(v), "intents", expanding=True),
            list,
        ),
    ),
    FilterField(
        "province_code", "str | None", None, url_key="province", label="省/市",
        read=_province,
        condition=simple(
            Condition("province is", lambda v: Inquiry.province_code == v, bind="province")
        ),
    ),
    FilterField(
        "city_code", "str | None", None, url_key="city", label="市",
        read=_city,
        condition=simple(Condition("city is", lambda v: Inquiry.city_code == v, bind="city")),
    ),
    FilterField(  # inclusive, an Asia/Shanghai calendar day
        "submitted_from", "date | None", None, url_key="from", label="开始日期",
        read=_day, write=date.isoformat,
        condition=simple(
            Condition("submitted from", lambda v: Inquiry.submitted_at >= v, bind="from_time"),
            day_start_utc,
        ),
    ),
    FilterField(  # inclusive
        "submitted_to", "date | None", None, url_key="to", label="结束日期",
        read=_last_day, write=date.isoformat,
        condition=simple(
            Condition("submitted before", lambda v: Inquiry.submitted_at < v, bind="to_time"),
            lambda day: day_start_utc(day + timedelta(days=1)),
        ),
    ),
    FilterField(
        "assignee", "str", "", url_key="assignee", label="负责人",
        read=_assignee, condition=_assigned,
    ),
    FilterField(
        "overdue", "bool", False, url_key="overdue", label="超时",
        read=_flag, write=lambda v: "1", condition=_overdue,
    ),
    FilterField(
        "completion", "str", "", url_key="hours", label="处理用时",
        read=_completion_bucket, condition=_completed_within,
    ),
    FilterField(
        "search", "str", "", url_key="q", label="搜索",
        read=_search_text, condition=_searched,
        normalize=lambda text: search.clean_search(text)[0],
    ),
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Visibility and the WHERE clause

OWN = Condition("own", lambda v: Inquiry.owner_id == v, bind="owner_id")
NOT_DRAFT = Condition("not a draft", lambda _: Inquiry.status != Status.draft.value)
SUBMITTED = Condition("submitted", lambda _: Inquiry.submitted_at.is_not(None))


def visibility(actor: User | None, dialect: str) -> list[tuple[Condition, Any]]:
    """What ``actor`` may list: an enterprise user its own inquiries, staff and managers every
    inquiry but drafts, other roles nothing (NotAllowed)."""
    if actor is None or not actor.is_active:
        raise NotAllowed("您没有查看询保申请的权限")
    if actor.role == Role.enterprise:
        return [(OWN, actor.id)]
    if actor.role not in STAFF_ROLES:
        raise NotAllowed("您没有查看询保申请的权限")
    if nulls_sort_last(dialect):
        return [(NOT_DRAFT, None)]
    # Only drafts lack a submission time (submit sets it). PostgreSQL puts NULLs first when it
    # walks ix_inquiry_submitted backwards, so without this every newest-first page of all
    # statuses (or of a common search term) would first read all the drafts. SQLite sorts
    # NULLs last.
    return [(NOT_DRAFT, None), (SUBMITTED, None)]


def where(
    flt: Any,
    *,
    actor: User,
    dialect: str,
    now: datetime | None = None,
    dense: bool = False,
) -> Where:
    """The WHERE clause for ``flt`` as ``actor`` may see it: visibility, then the condition of
    each field that differs from its default. ``dense``: the search matches so many rows that
    walking the date index is cheaper than collecting them (PostgreSQL)."""
    parts = visibility(actor, dialect)
    scope = Scope(actor, search.for_dialect(dialect), now, dense)
    for f in FIELDS:
        value = getattr(flt, f.name)
        if value != f.default:
            part = f.condition(value, scope)
            if part is not None:
                parts.append(part)
    return Where.of(parts)
