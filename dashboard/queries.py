"""Listing inquiries: ``InquiryFilter`` → one parameterised SQL query; one page + the total count.

Visibility is applied here too, from the actor: an enterprise user lists only its own inquiries,
staff and managers never list drafts, other roles list nothing.

Search (``InquiryFilter.search``) covers 询保流水号, 公司名称, 联系人, 联系手机, 联系固话 and
联系邮箱. A complete serial, mobile or fixed-line number is an exact match ("jump straight to it");
any other term of 3+ characters is a contains-match answered by the trigram index of migration
0002_search (SQLite FTS5 ``inquiry_fts``, PostgreSQL ``pg_trgm``); 1–2 character terms use a plain
``LIKE`` over the columns, which is correct but not indexed: a staff page reads the table once for
them, collecting the matching ids for its rows, its count and its facets (``Page.matched``).

Counting: a staff or manager contains-search is counted up to ``SEARCH_COUNT_CAP`` and shown as
"10,000+" beyond it (an exact count of a common fragment reads every match); filters, serials,
phone numbers and an enterprise user's own list are counted exactly. A first page that is not
full is the whole answer, so its length is the total and no count runs at all. On PostgreSQL a
staff contains-search collects its matches once, for the capped count and the page together.

The filter state round-trips through URL query parameters (``to_params`` / ``from_params``);
parsing never raises and never widens what the actor may see (visibility is not a parameter).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql import util as sql_util
from sqlmodel import Session, select

from dashboard import accounts, regions
from dashboard.clock import day_start_utc, overdue_cutoff
from dashboard.errors import NotAllowed
from dashboard.inquiries import STAFF_ROLES
from dashboard.settings import get_settings
from models import (
    INTENT_LABELS,
    STATUS_LABELS,
    Inquiry,
    Role,
    Status,
    User,
    normalize_landline,
    normalize_mobile,
    utcnow,
)

#: Who lists inquiries: companies (their own) and the insurer's staff and managers.
VIEWER_ROLES = (Role.enterprise.value, *STAFF_ROLES)

PAGE_SIZES = (20, 50, 100)
SORTS = {
    "-submitted_at": (sa.desc(Inquiry.submitted_at), sa.desc(Inquiry.id)),
    "submitted_at": (sa.asc(Inquiry.submitted_at), sa.asc(Inquiry.id)),
    "-serial": (sa.desc(Inquiry.serial),),
    "serial": (sa.asc(Inquiry.serial),),
    "-created_at": (sa.desc(Inquiry.created_at), sa.desc(Inquiry.id)),
}
#: What the triage page shows when the URL says nothing about the status.
DEFAULT_STATUSES = (Status.submitted.value,)
MAX_SEARCH_LENGTH = 100
#: A contains-search on the triage page (staff, managers) is counted up to this many matches;
#: beyond it the page says "10,000+" (``Page.capped``), only the first this many can be paged
#: through and the facets are not counted. An exact count reads every match: 47 ms on SQLite's
#: FTS5 index and 280 ms–1 s on PostgreSQL for a 3-character term matching 240,000–970,000 of a
#: million inquiries; PostgreSQL spends ~2–7 µs per match on it even when capped.
SEARCH_COUNT_CAP = 10_000
#: Above this many matches a PostgreSQL search page walks the date index, filtering, instead of
#: collecting and sorting every match (see ``_clauses``, "ilike_first"). Measured at 1M rows: 12,000
#: matches 90 → 13 ms, 3,000 matches 30 → 42 ms, 240,000 matches 1.6 s → 2 ms.
DENSE_SEARCH_ROWS = 5_000
#: Above this many matches a SQLite contains-search page is found from the newest matches of
#: the search index (``_newest_search_page``) instead of sorting every match by date.
SPARSE_SEARCH_ROWS = 2_000
#: ... and, when the count is exact, only for pages within the first 1/4 of the matches: it
#: reads about (offset + limit) / (share of inquiries matching) index entries, so the last pages
#: of 3,000–10,000 matches are cheaper sorted (10,000 matches, page 200: 200 ms vs 30 ms).
NEWEST_PAGES_DEPTH = 4
#: The fields on which the detail panel looks for possible duplicates.
DUPLICATE_FIELDS = ("company_name", "mobile", "email")
_SERIAL = re.compile(r"\d{18}")
_PHONE_CHARS = re.compile(r"[\d\s+\-()（）转#]+")


def clean_search(raw: str | None) -> tuple[str, list[str]]:
    """A search term as it is searched for, and notices of what was changed: control and
    invisible characters (``Cc``/``Cf``…, e.g. a NUL or a zero-width space) are removed, and
    the term is cut to ``MAX_SEARCH_LENGTH`` characters."""
    text = (raw or "").strip()
    notices = []
    kept = "".join(c for c in text if not unicodedata.category(c).startswith(("C", "Zl", "Zp")))
    if kept != text:
        notices.append("搜索内容中的不可见字符或控制字符已被忽略")
        text = kept.strip()
    if len(text) > MAX_SEARCH_LENGTH:
        notices.append(f"搜索内容过长，已截取前{MAX_SEARCH_LENGTH}个字符")
        text = text[:MAX_SEARCH_LENGTH]
    return text, notices


@dataclass(frozen=True)
class InquiryFilter:
    """What the user filters by. Frozen and hashable, so views can cache on it.

    ``InquiryFilter()`` is everything the actor may see. ``assignee`` is ``""`` (anyone),
    ``"me"`` (the actor), ``"none"`` (unassigned) or a user id as a string. ``overdue`` keeps
    only submitted inquiries waiting longer than ``settings.sla_working_days`` working days.
    """

    statuses: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    province_code: str | None = None
    city_code: str | None = None
    submitted_from: date | None = None  # inclusive, Asia/Shanghai calendar day
    submitted_to: date | None = None  # inclusive
    search: str = ""
    assignee: str = ""
    overdue: bool = False

    def __post_init__(self) -> None:
        # Whatever built the filter (a widget, a URL, a caller), no control or invisible
        # character reaches the database: PostgreSQL refuses a NUL in a bound value outright.
        object.__setattr__(self, "search", clean_search(self.search)[0])

    def to_params(self) -> dict[str, str]:
        """The filter as URL query parameters (only what differs from the page's default)."""
        out: dict[str, str] = {}
        if self.statuses != DEFAULT_STATUSES:
            out["status"] = ",".join(self.statuses) if self.statuses else "all"
        if self.intents:
            out["intent"] = ",".join(self.intents)
        if self.province_code:
            out["province"] = self.province_code
        if self.city_code:
            out["city"] = self.city_code
        if self.submitted_from:
            out["from"] = self.submitted_from.isoformat()
        if self.submitted_to:
            out["to"] = self.submitted_to.isoformat()
        if self.assignee:
            out["assignee"] = self.assignee
        if self.overdue:
            out["overdue"] = "1"
        if self.search.strip():
            out["q"] = self.search.strip()
        return out

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], *, statuses: tuple[str, ...] = ("submitted", "completed")
    ) -> tuple[InquiryFilter, list[str]]:
        """Parse URL query parameters. Never raises: a bad value is dropped with a notice.

        ``statuses`` are the codes the page offers; anything else in ``status`` is ignored.
        """
        notices: list[str] = []

        def get(key: str) -> str:
            value = params.get(key, "")
            if isinstance(value, list):  # a repeated parameter: the last one wins
                value = value[-1] if value else ""
            return str(value).strip()

        def codes(key: str, allowed, label: str) -> tuple[str, ...]:
            raw = [c for c in get(key).split(",") if c]
            good = tuple(dict.fromkeys(c for c in raw if c in allowed))
            if len(good) != len(set(raw)):
                notices.append(f"链接中的{label}参数无效，已忽略无效部分")
            return good

        if "status" not in params:
            status_codes = DEFAULT_STATUSES
        elif get("status") == "all":
            status_codes = ()
        else:
            status_codes = codes("status", statuses, "申请状态") or DEFAULT_STATUSES
        intents = codes("intent", INTENT_LABELS, "询保内容")

        province = get("province") or None
        if province and (regions.get(province) is None or province not in _province_codes()):
            notices.append("链接中的省/市参数无效，已忽略")
            province = None
        city = get("city") or None
        if city and (province is None or city not in {r.code for r in regions.cities(province)}):
            notices.append("链接中的市参数无效，已忽略")
            city = None

        def day(key: str, label: str) -> date | None:
            raw = get(key)
            if not raw:
                return None
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                notices.append(f"链接中的{label}参数无效，已忽略")
                return None
            if not 2000 <= value.year <= 2100:
                notices.append(f"链接中的{label}参数无效，已忽略")
                return None
            return value

        start, end = day("from", "开始日期"), day("to", "结束日期")
        if start and end and start > end:
            notices.append("链接中的开始日期晚于结束日期，已忽略日期范围")
            start = end = None

        assignee = get("assignee")
        if assignee and not (
            assignee in ("me", "none") or (assignee.isdigit() and len(assignee) < 10)
        ):
            notices.append("链接中的负责人参数无效，已忽略")
            assignee = ""

        overdue_raw = get("overdue")
        if overdue_raw not in ("", "0", "1"):
            notices.append("链接中的超时参数无效，已忽略")
        search, search_notices = clean_search(get("q"))
        notices += search_notices
        flt = cls(
            statuses=status_codes,
            intents=intents,
            province_code=province,
            city_code=city,
            submitted_from=start,
            submitted_to=end,
            search=search,
            assignee=assignee,
            overdue=overdue_raw == "1",
        )
        return flt, notices


def _province_codes() -> set[str]:
    return {r.code for r in regions.provinces()}


def view_params_from(params: Mapping[str, str]) -> tuple[int, int, str, list[str]]:
    """Page number, page size and sort from URL parameters, with notices for bad values."""
    notices: list[str] = []
    page, size, sort = 1, 50, "-submitted_at"
    raw = str(params.get("page", "") or "")
    if raw:
        if raw.isdigit() and 0 < int(raw) < 10**7:
            page = int(raw)
        else:
            notices.append("链接中的页码无效，已显示第 1 页")
    raw = str(params.get("size", "") or "")
    if raw:
        if raw.isdigit() and int(raw) in PAGE_SIZES:
            size = int(raw)
        else:
            notices.append("链接中的每页条数无效，已使用 50")
    raw = str(params.get("sort", "") or "")
    if raw:
        if raw in SORTS:
            sort = raw
        else:
            notices.append("链接中的排序参数无效，已按提交日期排序")
    return page, size, sort, notices


@dataclass
class Page:
    rows: list[Inquiry]
    total: int
    page: int
    page_size: int
    extra: dict = field(default_factory=dict)
    #: More than ``total`` inquiries match (a contains-search counted up to SEARCH_COUNT_CAP):
    #: ``pages`` reaches only the first ``total`` of them.
    capped: bool = False
    #: Every matching id, when the page had to collect them (a search too short for the
    #: trigram index): ``facets(matched=…)`` counts them without scanning the table again.
    matched: tuple[int, ...] | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def total_label(self) -> str:
        """The total as the page shows it: ``1,234`` or, when capped, ``10,000+``."""
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"


def _escape_like(term: str) -> str:
    return term.replace("/", "//").replace("%", "/%").replace("_", "/_")


SEARCH_COLUMNS = ("serial", "company_name", "contact_name", "mobile", "landline", "email")


@lru_cache(maxsize=256)
def exact_search(term: str) -> tuple[str, str] | None:
    """(column, value) when ``term`` is a complete serial, mobile or fixed-line number."""
    if _SERIAL.fullmatch(term):
        return "serial", term
    if _PHONE_CHARS.fullmatch(term):
        mobile = normalize_mobile(term)
        if mobile:
            return "mobile", mobile
        landline = normalize_landline(term)
        if landline:
            return "landline", landline
    return None


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_query(
    term: str,
    statuses: tuple[str, ...] = (),
    intents: tuple[str, ...] = (),
    *,
    drafts: bool = False,
) -> str:
    """The FTS5 MATCH expression of a contains-search (3+ characters) over the six searched
    columns, optionally narrowed by status and intent (indexed alongside; codes never contain
    each other, so a phrase on them is an exact match), and without drafts unless ``drafts``."""
    query = "{" + " ".join(SEARCH_COLUMNS) + "} : " + _phrase(term)
    if statuses:
        query += " AND (" + " OR ".join(f"status : {_phrase(c)}" for c in statuses) + ")"
    if intents:
        query += " AND (" + " OR ".join(f"intent : {_phrase(c)}" for c in intents) + ")"
    if drafts:
        return query
    return f"({query}) NOT status : {_phrase(Status.draft.value)}"


def _index_only(dialect: str, flt: InquiryFilter, actor: User) -> str | None:
    """The search term when ``flt`` can be counted from the SQLite search index alone: a staff
    or manager contains-search, narrowed at most by status and intent."""
    term = flt.search.strip()[:MAX_SEARCH_LENGTH]
    if (
        dialect != "sqlite"
        or actor.role not in STAFF_ROLES
        or len(term) < 3
        or exact_search(term)
        or replace(flt, search="", statuses=(), intents=()) != InquiryFilter()
    ):
        return None
    return term


def _fts_count(session: Session, query: str, cap: int | None = None) -> int:
    if cap is None:
        return session.execute(
            sa.text("SELECT count(*) FROM inquiry_fts WHERE inquiry_fts MATCH :q"), {"q": query}
        ).scalar_one()
    return session.execute(
        sa.text(
            "SELECT count(*) FROM (SELECT 1 FROM inquiry_fts WHERE inquiry_fts MATCH :q LIMIT :n)"
        ),
        {"q": query, "n": cap + 1},
    ).scalar_one()


def _fts_ids(query: str, lowest: int | None = None) -> sa.Select:
    """The ids (rowids) of the search-index matches of ``query``, from ``lowest`` up."""
    rowid = sa.literal_column("rowid")
    stmt = (
        sa.select(rowid)
        .select_from(sa.table("inquiry_fts"))
        .where(sa.literal_column("inquiry_fts").op("MATCH")(query))
    )
    return stmt if lowest is None else stmt.where(rowid >= lowest)


@dataclass(frozen=True)
class Where:
    """The WHERE clause of a filter as an actor may see it, in two parts: ``shape`` says which
    conditions apply (hashable: the key under which a statement is built once and reused, see
    ``_statement``) and ``params`` holds their values, bound when the statement runs.

    Building and compiling a SQLAlchemy statement costs more than running an indexed lookup
    (0.2–0.5 ms against 0.1 ms for an exact serial or the detail panel's duplicates at a million
    rows), so the pages run statements built once per shape, with new values each time."""

    shape: tuple
    params: dict = field(compare=False)


def _search_part(term: str, dialect: str, dense: bool) -> tuple[tuple, object] | None:
    """The shape and value of a search term's condition (see the module docstring)."""
    term = term.strip()[:MAX_SEARCH_LENGTH]
    if not term:
        return None
    exact = exact_search(term)
    if exact:
        column, value = exact
        return ("exact", column), value
    if dialect == "sqlite" and len(term) >= 3:
        return ("fts",), fts_query(term, drafts=True)
    pattern = f"%{_escape_like(term)}%"
    if dialect == "sqlite":
        return ("like",), pattern
    if len(term) < 3 or dense:
        return ("ilike",), pattern
    return ("ilike_first",), pattern


def where(
    flt: InquiryFilter,
    *,
    actor: User,
    dialect: str = "sqlite",
    now: datetime | None = None,
    dense: bool = False,
) -> Where:
    """The WHERE clause for ``flt`` as ``actor`` may see it. ``dense`` (PostgreSQL): the search
    matches so many rows that walking the date index is cheaper than collecting them."""
    shape: list = []
    params: dict = {}

    def add(item: str | tuple, name: str | None = None, value: object = None) -> None:
        shape.append(item)
        if name is not None:
            params[name] = value

    if actor is None or not actor.is_active:
        raise NotAllowed("您没有查看询保申请的权限")
    if actor.role == Role.enterprise:
        add("owner", "owner_id", actor.id)
    elif actor.role in STAFF_ROLES:
        add("not_draft")
        if dialect != "sqlite":
            # Only drafts lack a submission time (submit sets it). PostgreSQL puts NULLs first
            # when it walks ix_inquiry_submitted backwards, so without this every newest-first
            # page of all statuses (or of a common search term) first reads all the drafts:
            # 130 ms at a million rows, 0.1 ms with it. SQLite sorts NULLs last.
            add("submitted")
    else:
        raise NotAllowed("您没有查看询保申请的权限")
    if flt.statuses:
        add("statuses", "statuses", list(flt.statuses))
    if flt.intents:
        add("intents", "intents", list(flt.intents))
    if flt.province_code:
        add("province", "province", flt.province_code)
    if flt.city_code:
        add("city", "city", flt.city_code)
    if flt.submitted_from:
        add("from", "from_time", day_start_utc(flt.submitted_from))
    if flt.submitted_to:
        add("to", "to_time", day_start_utc(flt.submitted_to + timedelta(days=1)))
    if flt.assignee == "me":
        add("assignee", "assignee_id", actor.id)
    elif flt.assignee == "none":
        add("unassigned")
    elif flt.assignee.isdigit():
        add("assignee", "assignee_id", int(flt.assignee))
    if flt.overdue:
        add("overdue", "cutoff", overdue_cutoff(now or utcnow(), get_settings().sla_working_days))
    found = _search_part(flt.search, dialect, dense)
    if found is not None:
        add(found[0], "search", found[1])
    return Where(tuple(shape), params)


def _clauses(shape: tuple, params: dict | None = None) -> list[sa.ColumnElement[bool]]:
    """The conditions of ``shape``. Without ``params`` every value is a required bind
    parameter: running the statement without a value for it fails instead of reusing one."""

    def value(name: str, *, expanding: bool = False) -> sa.BindParameter:
        if params is None:
            return sa.bindparam(name, expanding=expanding)
        return sa.bindparam(name, params[name], expanding=expanding)

    out: list[sa.ColumnElement[bool]] = []
    for item in shape:
        if item == "owner":
            out.append(Inquiry.owner_id == value("owner_id"))
        elif item == "not_draft":
            out.append(Inquiry.status != Status.draft.value)
        elif item == "submitted":
            out.append(Inquiry.submitted_at.is_not(None))
        elif item == "statuses":
            out.append(Inquiry.status.in_(value("statuses", expanding=True)))
        elif item == "intents":
            out.append(Inquiry.intent.in_(value("intents", expanding=True)))
        elif item == "province":
            out.append(Inquiry.province_code == value("province"))
        elif item == "city":
            out.append(Inquiry.city_code == value("city"))
        elif item == "from":
            out.append(Inquiry.submitted_at >= value("from_time"))
        elif item == "to":
            out.append(Inquiry.submitted_at < value("to_time"))
        elif item == "assignee":
            out.append(Inquiry.assignee_id == value("assignee_id"))
        elif item == "unassigned":
            out.append(Inquiry.assignee_id.is_(None))
        elif item == "overdue":
            out.append(Inquiry.status == Status.submitted.value)
            out.append(Inquiry.submitted_at < value("cutoff"))
        elif item[0] == "exact":
            out.append(getattr(Inquiry, item[1]) == value("search"))
        elif item == ("fts",):
            out.append(Inquiry.id.in_(_fts_ids(value("search"))))
        elif item == ("like",):
            pattern = value("search")
            out.append(
                sa.or_(*(getattr(Inquiry, c).like(pattern, escape="/") for c in SEARCH_COLUMNS))
            )
        elif item == ("ilike",):
            pattern = value("search")
            out.append(
                sa.or_(*(getattr(Inquiry, c).ilike(pattern, escape="/") for c in SEARCH_COLUMNS))
            )
        elif item == ("ilike_first",):
            # Selective terms are materialised first (a BitmapOr over the six trigram indexes):
            # otherwise the planner tends to walk the date index backwards filtering every
            # row — 70 ms instead of 12 at 1M rows.
            pattern = value("search")
            inner = aliased(Inquiry)
            matched = (
                sa.select(inner.id)
                .where(
                    sa.or_(*(getattr(inner, c).ilike(pattern, escape="/") for c in SEARCH_COLUMNS))
                )
                .cte("search_match")
                .prefix_with("MATERIALIZED")
            )
            out.append(Inquiry.id.in_(sa.select(matched.c.id)))
        else:  # pragma: no cover - every shape item is built by where()
            raise ValueError(f"unknown condition {item!r}")
    return out


def conditions(
    flt: InquiryFilter,
    *,
    actor: User,
    dialect: str = "sqlite",
    now: datetime | None = None,
    dense: bool = False,
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions for ``flt`` as ``actor`` may see it, with their values (for a
    statement built once; the pages reuse statements built per ``where(...).shape``)."""
    w = where(flt, actor=actor, dialect=dialect, now=now, dense=dense)
    return _clauses(w.shape, w.params)


@lru_cache(maxsize=512)
def _statement(kind: str, shape: tuple, sort: str = "") -> sa.Select:
    """The statement of ``kind`` for a filter of ``shape``, built once; its bind parameters
    are the filter's ``Where.params`` plus those named here."""
    conds = _clauses(shape)
    if kind == "page":  # + page_offset, page_limit
        return (
            select(Inquiry)
            .where(*conds)
            .order_by(*SORTS[sort])
            .offset(sa.bindparam("page_offset"))
            .limit(sa.bindparam("page_limit"))
        )
    if kind == "count":
        return select(sa.func.count()).select_from(Inquiry).where(*conds)
    if kind == "count_capped":  # + count_limit: counting stops there
        matches = sa.select(Inquiry.id).where(*conds).limit(sa.bindparam("count_limit"))
        return select(sa.func.count()).select_from(matches.subquery())
    if kind == "facets":
        return (
            select(Inquiry.status, Inquiry.intent, sa.func.count())
            .where(*conds)
            .group_by(Inquiry.status, Inquiry.intent)
        )
    if kind == "matches_page":  # + count_limit, count_cap, page_offset, page_limit
        # One row per id of the page, each with the capped count; one row (total, NULL) when the
        # page is empty. More than count_cap matches: the page is empty, and PostgreSQL skips
        # sorting the matches (LIMIT 0 never reads its input).
        keys = sorted({c.key for c in _sort_columns(sort)} | {"id"})
        matched = (
            sa.select(*(Inquiry.__table__.c[k] for k in keys))
            .where(*conds)
            .limit(sa.bindparam("count_limit"))
            .cte("matched")
            .prefix_with("MATERIALIZED")
        )
        total = sa.select(sa.func.count()).select_from(matched).scalar_subquery()
        length = (
            sa.select(
                sa.case(
                    (sa.func.count() <= sa.bindparam("count_cap"), sa.bindparam("page_limit")),
                    else_=0,
                )
            )
            .select_from(matched)
            .scalar_subquery()
        )
        adapt = sql_util.ClauseAdapter(matched).traverse
        paged = (
            sa.select(matched.c.id)
            .order_by(*(adapt(e) for e in SORTS[sort]))
            .offset(sa.bindparam("page_offset"))
            .limit(length)
            .subquery("paged")
        )
        one = sa.select(sa.literal(1).label("one")).subquery("one")
        return (
            sa.select(total.label("total"), paged.c.id).select_from(one).outerjoin(paged, sa.true())
        )
    if kind == "ids":  # + count_limit: the matching ids, at most that many, in no order
        return sa.select(Inquiry.id).where(*conds).limit(sa.bindparam("count_limit"))
    # Of the given ids (+ ids), those that match (the conditions again: the ids are a hint,
    # never a way around what the actor may see): one page (+ page_offset, page_limit), or the
    # counts per status and intent.
    of_ids = Inquiry.id.in_(sa.bindparam("ids", expanding=True))
    if kind == "page_of_ids":
        return (
            select(Inquiry)
            .where(of_ids, *conds)
            .order_by(*SORTS[sort])
            .offset(sa.bindparam("page_offset"))
            .limit(sa.bindparam("page_limit"))
        )
    if kind == "facets_of_ids":
        return (
            select(Inquiry.status, Inquiry.intent, sa.func.count())
            .where(of_ids, *conds)
            .group_by(Inquiry.status, Inquiry.intent)
        )
    if kind == "duplicates":  # + dup_id, dup_<field> for each DUPLICATE_FIELDS, dup_limit
        order = (sa.desc(Inquiry.submitted_at), sa.desc(Inquiry.id))
        limit = sa.bindparam("dup_limit")
        matched = sa.union(
            *(
                sa.select(
                    sa.select(Inquiry.id)
                    .where(
                        *conds,
                        Inquiry.id != sa.bindparam("dup_id"),
                        getattr(Inquiry, f) == sa.bindparam("dup_" + f),
                    )
                    .order_by(*order)
                    .limit(limit)
                    .subquery()
                )
                for f in DUPLICATE_FIELDS
            )
        )
        return select(Inquiry).where(Inquiry.id.in_(matched)).order_by(*order).limit(limit)
    raise ValueError(f"unknown statement {kind!r}")


def _sort_columns(sort: str) -> list[sa.Column]:
    """The columns a sort orders by (each entry of SORTS is a column, ascending or descending)."""
    return [e.element for e in SORTS[sort]]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _contains_term(flt: InquiryFilter) -> str | None:
    """The search term when ``flt`` is a contains-search (not a serial or phone number)."""
    term = flt.search.strip()[:MAX_SEARCH_LENGTH]
    return term if term and exact_search(term) is None else None


def _count(
    session: Session, flt: InquiryFilter, *, actor: User, dialect: str, cap: int | None = None
) -> int:
    """How many inquiries match; with ``cap``, counting stops at ``cap + 1``."""
    term = _index_only(dialect, flt, actor)
    if term is not None:
        return _fts_count(session, fts_query(term, flt.statuses, flt.intents), cap)
    w = where(flt, actor=actor, dialect=dialect, dense=True)
    if cap is None:
        return session.exec(_statement("count", w.shape), params=w.params).one()
    stmt = _statement("count_capped", w.shape)
    return session.exec(stmt, params=w.params | {"count_limit": cap + 1}).one()


def count(session: Session, flt: InquiryFilter, *, actor: User) -> int:
    """How many inquiries match ``flt`` for ``actor`` (exactly, however many)."""
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    return _count(session, flt, actor=actor, dialect=_dialect(session))


def search_cap(flt: InquiryFilter, actor: User) -> int | None:
    """The cap on the count of ``flt`` for ``actor`` on a listing: SEARCH_COUNT_CAP for a staff
    or manager contains-search, else None (filters alone, serials and phone numbers, and an
    enterprise user's own inquiries are counted exactly)."""
    if actor.role in STAFF_ROLES and _contains_term(flt) is not None:
        return SEARCH_COUNT_CAP
    return None


def _newest_search_page(
    session: Session, flt: InquiryFilter, term: str, *, actor: User, offset: int, limit: int
) -> list[Inquiry] | None:
    """One page, newest submitted first, of a contains-search with many matches (SQLite), without
    sorting every match by date; None when the shortcut does not apply (then sort them all).

    The search index hands out its matches in id order at no cost. Take the ``k = offset +
    limit`` matches with the highest ids and the oldest submission time among them, ``edge``:
    those ``k`` matches are all submitted at ``edge`` or later, so the ``k`` newest matches are
    too. Every inquiry submitted at ``edge`` or later has an id of at least ``lowest`` (read off
    ``ix_inquiry_submitted``), so sorting the matches with ids from ``lowest`` up, submitted at
    ``edge`` or later, gives exactly the answer of sorting all of them. Exact whatever the data;
    fast because ids follow creation and inquiries are submitted soon after they are created,
    so that range holds about ``k`` / (share of inquiries matching) rows. At a million rows:
    1 ms instead of 220–450 ms for a term matching 240,000–970,000 inquiries.
    """
    query = fts_query(term, flt.statuses, flt.intents)
    k = offset + limit
    newest = _fts_ids(query).order_by(sa.literal_column("rowid").desc()).limit(k)
    times = session.exec(select(Inquiry.submitted_at).where(Inquiry.id.in_(newest))).all()
    if len(times) < k or any(t is None for t in times):
        return None
    edge = min(times)
    # min(id + 0): a range scan of the date index, not a walk of the table in id order
    lowest = session.exec(
        select(sa.func.min(Inquiry.id + 0)).where(Inquiry.submitted_at >= edge)
    ).one()
    in_range = _fts_ids(query, lowest)
    conds = conditions(replace(flt, search=""), actor=actor, dialect="sqlite")
    rows = session.exec(
        select(Inquiry)
        .where(*conds, Inquiry.submitted_at >= edge, Inquiry.id.in_(in_range))
        .order_by(*SORTS["-submitted_at"])
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows)


def list_page(
    session: Session,
    flt: InquiryFilter,
    *,
    actor: User,
    page: int = 1,
    page_size: int = 50,
    sort: str = "-submitted_at",
) -> Page:
    """One page of matching inquiries and the total number of matches.

    A page number past the end shows the last page; an unknown sort or page size the default.
    A staff contains-search is counted up to SEARCH_COUNT_CAP (``Page.capped`` beyond it).
    When the first page is not full, it is all there is: its length is the total (no count).
    """
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    dialect = _dialect(session)
    w = where(flt, actor=actor, dialect=dialect)
    page_size = page_size if page_size in PAGE_SIZES else 50
    sort = sort if sort in SORTS else "-submitted_at"
    cap = search_cap(flt, actor)

    def rows_at(offset: int, limit: int, w: Where = w) -> list[Inquiry]:
        stmt = _statement("page", w.shape, sort)
        params = w.params | {"page_offset": offset, "page_limit": limit}
        return list(session.exec(stmt, params=params).all())

    page = max(1, page)
    counted = None  # the capped count, when a one-scan page below found it
    term = _contains_term(flt) if cap is not None else None
    if term is not None and len(term) < 3:
        found, counted = _collected_page(session, w, sort, cap, page, page_size)
        if found is not None:
            return found
    elif dialect != "sqlite" and cap is not None:
        found, counted = _one_scan_page(session, flt, actor, dialect, sort, cap, page, page_size)
        if found is not None:
            return found
    if cap is None and page == 1:
        rows = rows_at(0, page_size)
        if len(rows) < page_size:
            return Page(rows=rows, total=len(rows), page=1, page_size=page_size)
        total = _count(session, flt, actor=actor, dialect=dialect)
        return Page(rows=rows, total=total, page=1, page_size=page_size)
    if counted is None:
        counted = _count(session, flt, actor=actor, dialect=dialect, cap=cap)
    total = counted
    capped = cap is not None and total > cap
    total = min(total, cap) if cap is not None else total
    page = min(page, max(1, -(-total // page_size)))
    offset = (page - 1) * page_size
    limit = min(page_size, max(0, total - offset)) if capped else page_size  # not past the cap
    rows = None
    term = _index_only(dialect, flt, actor)
    if (
        term is not None
        and total > SPARSE_SEARCH_ROWS
        and sort == "-submitted_at"
        and (capped or NEWEST_PAGES_DEPTH * (offset + limit) <= total)
    ):
        rows = _newest_search_page(session, flt, term, actor=actor, offset=offset, limit=limit)
    elif dialect != "sqlite" and flt.search and (capped or total > DENSE_SEARCH_ROWS):
        rows = rows_at(offset, limit, where(flt, actor=actor, dialect=dialect, dense=True))
    if rows is None:
        rows = rows_at(offset, limit)
    return Page(rows=rows, total=total, page=page, page_size=page_size, capped=capped)


def _one_scan_page(
    session: Session,
    flt: InquiryFilter,
    actor: User,
    dialect: str,
    sort: str,
    cap: int,
    page: int,
    page_size: int,
) -> tuple[Page | None, int | None]:
    """PostgreSQL, a contains-search of staff: the capped count and the page from one scan of
    the trigram indexes. The matches (up to ``cap + 1``, only the sort columns) are collected
    once, counted, sorted and paged; the page's rows are then read by id. Two scans (a capped
    count, then the page) took 31 ms at a million rows for a fragment matching 1,200 inquiries.

    Returns the page and the capped count; the page is None when the answer needs the general
    path, which then skips its own count: more than ``cap`` matches (the collected ones are not
    the newest, so the page walks the date index) or a page past the last one (the general path
    shows the last page instead).
    """
    w = where(flt, actor=actor, dialect=dialect, dense=True)
    params = w.params | {
        "count_limit": cap + 1,
        "count_cap": cap,
        "page_offset": (page - 1) * page_size,
        "page_limit": page_size,
    }
    found = session.execute(_statement("matches_page", w.shape, sort), params).all()
    total = found[0][0]
    ids = [i for _, i in found if i is not None]
    if total > cap or (not ids and page > 1):
        return None, total
    rows = _page_of_ids(session, w, sort, ids, 0, len(ids))
    return Page(rows=rows, total=total, page=page, page_size=page_size), total


def _page_of_ids(
    session: Session, w: Where, sort: str, ids: list[int], offset: int, limit: int
) -> list[Inquiry]:
    if not ids:
        return []
    params = w.params | {"ids": ids, "page_offset": offset, "page_limit": limit}
    return list(session.exec(_statement("page_of_ids", w.shape, sort), params=params).all())


def _collected_page(
    session: Session, w: Where, sort: str, cap: int, page: int, page_size: int
) -> tuple[Page | None, int]:
    """A search too short for the trigram index reads the whole table, so read it once: collect
    the matching ids (up to ``cap + 1``; a scan stops there), then page and facet them by id.
    Three scans (a capped count, the page, the facets) took 2.5–4 s at a million rows on
    SQLite for a two-character name. Returns the page and the capped count; None for the page
    when more than ``cap`` match (the collected ones are not the newest: the general path pages
    them from the date index, skipping its own count)."""
    found = session.execute(_statement("ids", w.shape), w.params | {"count_limit": cap + 1})
    ids = list(found.scalars())
    if len(ids) > cap:
        return None, len(ids)
    page = min(page, max(1, -(-len(ids) // page_size)))
    rows = _page_of_ids(session, w, sort, ids, (page - 1) * page_size, page_size)
    return (
        Page(rows=rows, total=len(ids), page=page, page_size=page_size, matched=tuple(ids)),
        len(ids),
    )


def facets(
    session: Session,
    flt: InquiryFilter,
    *,
    actor: User,
    capped: bool | None = None,
    matched: Sequence[int] | None = None,
) -> dict[str, dict[str, int]] | None:
    """Counts per status and per intent of the inquiries matching ``flt`` (each facet sums to
    the total). One GROUP BY over both columns, served by ``ix_inquiry_status_intent_submitted``
    for the default view; every code the actor can see is present, with 0 when none match.

    None for a contains-search whose total is capped (more than SEARCH_COUNT_CAP matches):
    counting them per status and intent would read every match (a second at a million rows).
    ``capped`` is ``Page.capped`` of the same filter when the caller has it; otherwise it is
    found out here with a capped count. ``matched`` is ``Page.matched`` of the same filter: the
    counts then come from those ids instead of another scan.

    (Counting each facet *without* its own selection would show what another choice gives, but
    for the default view that means counting every completed inquiry on each page load: 60+ ms
    at a million rows on SQLite, over the 50 ms budget.)
    """
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    dialect = _dialect(session)
    cap = search_cap(flt, actor)
    if cap is None or matched is not None:  # a page collects its matches only below the cap
        capped = False
    elif capped is None:
        capped = _count(session, flt, actor=actor, dialect=dialect, cap=cap) > cap
    if capped:
        return None
    # no ordering: a plain OR of the trigram indexes is the cheapest plan for a count
    w = where(flt, actor=actor, dialect=dialect, dense=True)
    if matched is not None:
        stmt, params = _statement("facets_of_ids", w.shape), w.params | {"ids": list(matched)}
    else:
        stmt, params = _statement("facets", w.shape), w.params
    rows = session.exec(stmt, params=params).all()
    statuses = {code: 0 for code in STATUS_LABELS}
    if actor.role in STAFF_ROLES:
        del statuses[Status.draft.value]
    intents = {code: 0 for code in INTENT_LABELS}
    for status, intent, n in rows:
        statuses[status] = statuses.get(status, 0) + n
        intents[intent] = intents.get(intent, 0) + n
    return {"status": statuses, "intent": intents}


def possible_duplicates(
    session: Session, *, actor: User, inquiry: Inquiry, limit: int = 20
) -> list[tuple[Inquiry, tuple[str, ...]]]:
    """Other inquiries the actor may see with the same company name, mobile or e-mail, newest
    first, each with the fields that matched (``company_name``, ``mobile``, ``email``).

    One lookup per field, each through that field's index and cut to ``limit`` newest rows, then
    the union of the (at most 3 × ``limit``) ids sorted and cut again: the same answer as
    ``a = ? OR b = ? OR c = ?``, which PostgreSQL plans as a backward walk of the date index
    that filters every row until it has ``limit`` matches (57 ms at a million rows).
    """
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    w = where(InquiryFilter(), actor=actor, dialect=_dialect(session))
    params = w.params | {"dup_id": inquiry.id, "dup_limit": limit}
    params.update(("dup_" + f, getattr(inquiry, f)) for f in DUPLICATE_FIELDS)
    rows = session.exec(_statement("duplicates", w.shape), params=params).all()
    return [
        (row, tuple(f for f in DUPLICATE_FIELDS if getattr(row, f) == getattr(inquiry, f)))
        for row in rows
    ]


def user_labels(session: Session, user_ids) -> dict[int, str]:
    """Display names of a few users (the assignees on one page)."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = session.exec(select(User).where(User.id.in_(ids))).all()
    return {u.id: u.label for u in rows}


#: Columns of an export, in order: (header, key).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("询保流水号", "serial"),
    ("公司名称", "company_name"),
    ("省/市", "province_code"),
    ("市", "city_code"),
    ("区", "district_code"),
    ("详细地址", "address_detail"),
    ("联系人", "contact_name"),
    ("联系手机", "mobile"),
    ("联系固话", "landline"),
    ("联系邮箱", "email"),
    ("询保内容", "intent"),
    ("其他需求", "other_needs"),
    ("申请状态", "status"),
    ("负责人", "assignee"),
    ("提交日期", "submitted_at"),
    ("完成日期", "completed_at"),
)


def export_rows(
    session: Session,
    flt: InquiryFilter,
    *,
    actor: User,
    sort: str = "-submitted_at",
    chunk_size: int = 2000,
    render: Callable[[str, sa.ColumnElement, str], sa.ColumnElement] | None = None,
) -> Iterator[tuple]:
    """Every matching row as a tuple of raw values in ``EXPORT_COLUMNS`` order (codes, UTC
    datetimes), streamed from a server-side cursor in chunks of ``chunk_size``: memory stays
    flat however many rows match. ``render(key, column, dialect)``, when given, replaces each
    column by an expression of it (the exports turn codes and times into text in SQL)."""
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    dialect = _dialect(session)
    conds = conditions(flt, actor=actor, dialect=dialect)
    assignee = aliased(User)
    label = sa.func.coalesce(assignee.display_name, assignee.username)
    columns = [label if key == "assignee" else getattr(Inquiry, key) for _, key in EXPORT_COLUMNS]
    if render is not None:
        columns = [
            render(key, column, dialect)
            for (_, key), column in zip(EXPORT_COLUMNS, columns, strict=True)
        ]
    stmt = (
        sa.select(*columns)
        .select_from(Inquiry)
        .join(assignee, assignee.id == Inquiry.assignee_id, isouter=True)
        .where(*conds)
        .order_by(*SORTS.get(sort, SORTS["-submitted_at"]))
        .execution_options(yield_per=chunk_size, stream_results=True)
    )
    result = session.execute(stmt)
    try:
        for row in result:
            yield tuple(row)
    finally:
        result.close()
