"""Listing inquiries: one page and the total count, facet counts, possible duplicates.

Visibility is applied from the actor (``conditions.visibility``): an enterprise user lists only
its own inquiries, staff and managers never list drafts, other roles list nothing.

How a page is found is decided once per call (``_strategy``):

- no contains-search by staff (filters alone, a serial or phone number, an enterprise user's own
  list): counted exactly; a first page that is not full is the whole answer, so its length is
  the total and no count runs at all (``_counted_page``);
- a staff contains-search of 1–2 characters on PostgreSQL, whose index (the characters of the
  searched columns) is followed by ``ILIKE`` on every row it finds: they are collected once,
  with the matching ids for the page, its count and its facets (``_collected_page``,
  ``Page.matched``);
- any other staff contains-search: the backend's ``search_page`` (search.py).

A staff contains-search is counted up to ``SEARCH_COUNT_CAP`` and shown as "10,000+" beyond it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard import accounts, dialect, privacy
from dashboard.inquiries import STAFF_ROLES
from dashboard.queries import search, statements
from dashboard.queries.conditions import where
from dashboard.queries.filter import DEFAULT_PAGE_SIZE, PAGE_SIZES, InquiryFilter
from dashboard.queries.statements import NEWEST_FIRST, SORTS, Where
from models import INTENT_LABELS, STATUS_LABELS, Inquiry, Role, Status, User

#: Who lists inquiries: companies (their own) and the insurer's staff and managers.
VIEWER_ROLES = (Role.enterprise.value, *STAFF_ROLES)
#: The fields on which the detail panel looks for possible duplicates.
DUPLICATE_FIELDS = ("company_name", "mobile", "email")


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


@dataclass(frozen=True)
class Window:
    """The rows of one page of ``total`` matches (``capped``: more match than can be paged)."""

    page: int
    offset: int
    limit: int
    total: int
    capped: bool


def _dialect(session: Session) -> str:
    return dialect.name(session)


def search_cap(flt: InquiryFilter, actor: User) -> int | None:
    """The cap on the count of ``flt`` for ``actor`` on a listing: SEARCH_COUNT_CAP for a staff
    or manager contains-search, else None (filters alone, serials and phone numbers, and an
    enterprise user's own inquiries are counted exactly)."""
    if actor.role in STAFF_ROLES and search.contains_term(flt.search):
        return search.SEARCH_COUNT_CAP
    return None


def _count(
    session: Session, flt: InquiryFilter, *, actor: User, dialect: str, cap: int | None = None
) -> int:
    """How many inquiries match; with ``cap``, counting stops at ``cap + 1``. No ordering: a
    plain OR of the trigram indexes (``dense``) is the cheapest plan for a count."""
    n = search.for_dialect(dialect).count_from_index(session, flt, actor, cap)
    if n is not None:
        return n
    w = where(flt, actor=actor, dialect=dialect, dense=True)
    if cap is None:
        return session.exec(statements.count(w.plan), params=w.params).one()
    params = w.params | {"count_limit": cap + 1}
    return session.exec(statements.count_capped(w.plan), params=params).one()


@dataclass
class Listing:
    """One ``list_page`` call: what every way of finding a page needs (search.py's too)."""

    session: Session
    flt: InquiryFilter
    actor: User
    dialect: str
    sort: str
    page_size: int
    cap: int | None
    _where: dict[bool, Where] = field(default_factory=dict, repr=False)

    @property
    def backend(self) -> search.Search:
        return search.for_dialect(self.dialect)

    def where(self, *, dense: bool = False) -> Where:
        if dense not in self._where:
            self._where[dense] = where(
                self.flt, actor=self.actor, dialect=self.dialect, dense=dense
            )
        return self._where[dense]

    def count(self) -> int:
        """The count (capped at ``cap`` when there is one)."""
        return _count(self.session, self.flt, actor=self.actor, dialect=self.dialect, cap=self.cap)

    def rows(self, w: Where, offset: int, limit: int) -> list[Inquiry]:
        params = w.params | {"page_offset": offset, "page_limit": limit}
        return list(self.session.exec(statements.page(w.plan, self.sort), params=params).all())

    def rows_of_ids(self, w: Where, ids: list[int], offset: int, limit: int) -> list[Inquiry]:
        """A page of those of ``ids`` that match ``w``."""
        if not ids:
            return []
        params = w.params | {"ids": ids, "page_offset": offset, "page_limit": limit}
        stmt = statements.page_of_ids(w.plan, self.sort)
        return list(self.session.exec(stmt, params=params).all())

    def window(self, page: int, counted: int) -> Window:
        """Page ``page`` of ``counted`` matches (a count capped at ``cap + 1``); a page past
        the end is the last page, and a capped count pages only its first ``cap``."""
        capped = self.cap is not None and counted > self.cap
        total = min(counted, self.cap) if self.cap is not None else counted
        page = min(page, max(1, -(-total // self.page_size)))
        offset = (page - 1) * self.page_size
        limit = min(self.page_size, max(0, total - offset)) if capped else self.page_size
        return Window(page, offset, limit, total, capped)

    def paged(self, window: Window, rows: list[Inquiry] | None = None) -> Page:
        """The page of ``window``: ``rows`` when a backend found them its own way, else read."""
        if rows is None:
            dense = self.backend.walks_date_index(self.flt, window.total, window.capped)
            rows = self.rows(self.where(dense=dense), window.offset, window.limit)
        return self.page_of(rows, total=window.total, page=window.page, capped=window.capped)

    def page_of(
        self,
        rows: list[Inquiry],
        *,
        total: int,
        page: int,
        capped: bool = False,
        matched: tuple[int, ...] | None = None,
    ) -> Page:
        return Page(rows, total, page, self.page_size, capped=capped, matched=matched)


def _counted_page(listing: Listing, page: int) -> Page:
    if page == 1:
        rows = listing.rows(listing.where(), 0, listing.page_size)
        total = len(rows) if len(rows) < listing.page_size else listing.count()
        return listing.page_of(rows, total=total, page=1)
    return listing.paged(listing.window(page, listing.count()))


def _collected_page(listing: Listing, page: int) -> Page:
    """A search too short for the trigram index reads the whole table, so read it once: collect
    the matching ids (up to ``cap + 1``; the scan stops there), then page and facet them by id.
    More than ``cap``: the collected ones are not the newest, so the page is read in order."""
    w = listing.where()
    params = w.params | {"count_limit": listing.cap + 1}
    ids = list(listing.session.execute(statements.ids(w.plan), params).scalars())
    window = listing.window(page, len(ids))
    if window.capped:
        return listing.paged(window)
    rows = listing.rows_of_ids(w, ids, window.offset, window.limit)
    return listing.page_of(rows, total=window.total, page=window.page, matched=tuple(ids))


def _strategy(listing: Listing) -> Callable[[Listing, int], Page]:
    """How this listing finds its page (see the module docstring)."""
    if listing.cap is None:
        return _counted_page
    if len(listing.flt.search) < 3 and not listing.backend.short_indexed:
        return _collected_page
    return listing.backend.search_page


def list_page(
    session: Session,
    flt: InquiryFilter,
    *,
    actor: User,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    sort: str = NEWEST_FIRST,
) -> Page:
    """One page of matching inquiries and the total number of matches.

    A page number past the end shows the last page; an unknown sort or page size the default.
    A staff contains-search is counted up to SEARCH_COUNT_CAP (``Page.capped`` beyond it).
    When the first page is not full, it is all there is: its length is the total (no count).
    The rows of staff and managers carry masked contact data (``privacy.listed``).
    """
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    listing = Listing(
        session,
        flt,
        actor,
        dialect=_dialect(session),
        sort=sort if sort in SORTS else NEWEST_FIRST,
        page_size=page_size if page_size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        cap=search_cap(flt, actor),
    )
    found = _strategy(listing)(listing, max(1, page))
    found.rows = privacy.listed(actor, found.rows)
    return found


def count(session: Session, flt: InquiryFilter, *, actor: User) -> int:
    """How many inquiries match ``flt`` for ``actor`` (exactly, however many)."""
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    return _count(session, flt, actor=actor, dialect=_dialect(session))


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
    counting them per status and intent would read every match. ``capped`` is ``Page.capped``
    of the same filter when the caller has it; otherwise it is found out here with a capped
    count. ``matched`` is ``Page.matched`` of the same filter: the counts then come from those
    ids instead of another scan.

    (Counting each facet *without* its own selection would show what another choice gives, but
    for the default view that means counting every completed inquiry on each page load.)
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
    w = where(flt, actor=actor, dialect=dialect, dense=True)
    if matched is not None:
        stmt, params = statements.facets_of_ids(w.plan), w.params | {"ids": list(matched)}
    else:
        stmt, params = statements.facets(w.plan), w.params
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
    that filters every row until it has ``limit`` matches.
    """
    actor = accounts.require_role(session, actor, *VIEWER_ROLES)
    # The stored values, whatever ``inquiry`` shows this actor (staff get masked copies). An
    # empty one (an anonymised inquiry's) matches nothing: NULL never equals anything.
    stored = session.execute(_DUPLICATE_VALUES, {"id": inquiry.id}).one_or_none()
    values = dict(zip(DUPLICATE_FIELDS, stored or (None,) * len(DUPLICATE_FIELDS), strict=True))
    values = {f: value or None for f, value in values.items()}
    w = where(InquiryFilter(), actor=actor, dialect=_dialect(session))
    params = w.params | {"dup_id": inquiry.id, "dup_limit": limit}
    params.update(("dup_" + f, values[f]) for f in DUPLICATE_FIELDS)
    stmt = statements.duplicates(w.plan, DUPLICATE_FIELDS)
    rows = session.exec(stmt, params=params).all()
    matched = [tuple(f for f in DUPLICATE_FIELDS if getattr(row, f) == values[f]) for row in rows]
    return list(zip(privacy.listed(actor, rows), matched, strict=True))


_DUPLICATE_VALUES = sa.select(*(getattr(Inquiry, f) for f in DUPLICATE_FIELDS)).where(
    Inquiry.id == sa.bindparam("id")
)


def user_labels(session: Session, user_ids) -> dict[int, str]:
    """Display names of a few users (the assignees on one page)."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = session.exec(select(User).where(User.id.in_(ids))).all()
    return {u.id: u.label for u in rows}
