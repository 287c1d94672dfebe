"""Search counts and pages at scale, shrunk to a test: the capped count of a broad contains-search
("N+"), facets left out when capped, the newest-matches page on SQLite (exact whatever the order
of ids and dates), 1–2 character terms, and a first page that is its own count — on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import db, inquiries, queries
from dashboard.queries import InquiryFilter, search
from models import Inquiry
from tests.conftest import valid_form

COMPANIES = ("宁波海曙纺织品有限公司", "温州鹿城鞋业有限公司", "义乌小商品贸易有限公司")


@pytest.fixture
def many(engine, users):
    """60 submitted inquiries (a quarter completed, intents mixed) over 3 company names, plus
    drafts with the same names; submission times shuffled against the ids, with ties."""
    rng = random.Random(11)
    ids = []
    with db.session_scope(engine) as s:
        for n in range(60):
            intent = ("insure", "buyer_credit", "other")[n % 3]
            form = valid_form(
                company_name=COMPANIES[n % 3],
                contact_name=("王娟", "李强", "张伟")[n % 3],
                mobile=f"139{n:08d}",
                email=f"u{n}@example.com",
                intent=intent,
                other_needs="需要报价" if intent == "other" else None,
            )
            ids.append(inquiries.submit(s, actor=users["company"], form=form).id)
        for name in COMPANIES:
            inquiries.save_draft(s, actor=users["company"], form=valid_form(company_name=name))
        base = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
        for i in ids:  # late submissions: a low id can be among the newest
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == i)
                .values(submitted_at=base - timedelta(hours=rng.randrange(40)))
            )
        inquiries.complete(s, actor=users["staff"], inquiry_ids=ids[::4])
    return ids


def _reference(session, flt, actor, *, offset=0, limit=100):
    """Every match, sorted, without any shortcut; and how many there are."""
    conds = queries.where(flt, actor=actor, dialect=session.get_bind().dialect.name).clauses()
    ordered = select(Inquiry.id).where(*conds).order_by(*queries.SORTS["-submitted_at"])
    total = session.exec(select(sa.func.count()).select_from(Inquiry).where(*conds)).one()
    return list(session.exec(ordered.offset(offset).limit(limit)).all()), total


def _page(flt, actor, **kw):
    with db.session_scope(write=False) as s:
        return queries.list_page(s, flt, actor=actor, **kw)


@pytest.mark.parametrize("term", ["有限公司", "鞋业有", "王娟", "公", "example"])
def test_a_broad_search_is_counted_up_to_the_cap(users, many, monkeypatch, term):
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 25)
    staff = users["staff"]
    flt = InquiryFilter(search=term)
    with db.session_scope(write=False) as s:
        everything, n = _reference(s, flt, staff)
    assert n >= 20
    page1 = _page(flt, staff, page_size=20)
    assert [r.id for r in page1.rows] == everything[:20]
    if n > 25:
        assert page1.capped and page1.total == 25 and page1.total_label == "25+"
        assert page1.pages == 2
        last = _page(flt, staff, page_size=20, page=9)  # past the end: the last reachable page
        assert last.page == 2 and [r.id for r in last.rows] == everything[20:25]
        with db.session_scope(write=False) as s:
            assert queries.facets(s, flt, actor=staff) is None
            assert queries.facets(s, flt, actor=staff, capped=True) is None
            assert queries.count(s, flt, actor=staff) == n  # count() stays exact
    else:
        assert not page1.capped and page1.total == n and page1.total_label == f"{n:,}"
        with db.session_scope(write=False) as s:
            assert sum(queries.facets(s, flt, actor=staff)["status"].values()) == n


def test_narrow_searches_filters_and_enterprise_lists_are_counted_exactly(users, many, monkeypatch):
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 5)
    staff = users["staff"]
    for flt, who in [
        (InquiryFilter(), "staff"),  # no search: never capped
        (InquiryFilter(statuses=("completed",)), "staff"),
        (InquiryFilter(search="13900000007"), "staff"),  # a mobile number: exact
        (InquiryFilter(search="有限公司"), "company"),  # an enterprise user's own list
    ]:
        actor = users[who]
        with db.session_scope(write=False) as s:
            _, n = _reference(s, flt, actor)
        page = _page(flt, actor, page_size=20)
        assert not page.capped and page.total == n, flt
    page = _page(InquiryFilter(search="有限公司"), staff, page_size=20)
    assert page.capped and page.total_label == "5+" and len(page.rows) == 5


@pytest.mark.parametrize(
    "flt",
    [
        InquiryFilter(search="有限公司"),
        InquiryFilter(search="鞋业有限"),
        InquiryFilter(search="有限公司", statuses=("submitted",)),
        InquiryFilter(search="有限公司", statuses=("completed",), intents=("insure", "other")),
        InquiryFilter(search="example.com", intents=("buyer_credit",)),
    ],
)
def test_the_newest_matches_page_equals_sorting_every_match(users, many, monkeypatch, backend, flt):
    """SQLite pages a search with many matches from the newest ids of the search index; with the
    threshold at 0 every search goes that way, and every page must equal the full sort."""
    monkeypatch.setattr(queries, "SPARSE_SEARCH_ROWS", 0)
    monkeypatch.setattr(queries, "NEWEST_PAGES_DEPTH", 0)  # to the last page
    staff = users["staff"]
    used = []
    original = search.SqliteSearch.newest_page
    monkeypatch.setattr(
        search.SqliteSearch, "newest_page", lambda *a, **k: used.append(1) or original(*a, **k)
    )
    with db.session_scope(write=False) as s:
        everything, n = _reference(s, flt, staff)
    for size in (20, 50):
        for page in range(1, -(-n // size) + 1):
            got = _page(flt, staff, page=page, page_size=size)
            assert got.total == n and not got.capped
            assert [r.id for r in got.rows] == everything[(page - 1) * size : page * size]
    assert bool(used) == (backend == "sqlite")


def _statements(engine, fn) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.lower())

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_first_page_that_is_not_full_needs_no_count(engine, users, many):
    staff = users["staff"]
    pages = []
    for flt in (
        InquiryFilter(search="139 0000 0007"),  # a mobile number
        InquiryFilter(statuses=("completed",), intents=("insure",)),
    ):
        seen = _statements(engine, lambda flt=flt: pages.append(_page(flt, staff)))
        assert not [q for q in seen if "count(" in q], seen
    with db.session_scope(write=False) as s:
        expected = [
            _reference(s, p_flt, staff)
            for p_flt in (
                InquiryFilter(search="13900000007"),
                InquiryFilter(statuses=("completed",), intents=("insure",)),
            )
        ]
    for page, (ids, n) in zip(pages, expected, strict=True):
        assert [r.id for r in page.rows] == ids and page.total == n and n < 50
    full = _statements(engine, lambda: _page(InquiryFilter(), staff, page_size=20))
    assert [q for q in full if "count(" in q]  # a full first page is counted


def test_the_page_view_after_completing_keeps_totals_right(users, many):
    """A full first page is followed by a count; the next page picks up where it stopped."""
    staff = users["staff"]
    flt = InquiryFilter(statuses=("submitted",))
    with db.session_scope(write=False) as s:
        everything, n = _reference(s, flt, staff)
    first = _page(flt, staff, page_size=20)
    second = _page(flt, staff, page_size=20, page=2)
    assert first.total == second.total == n == 45
    assert [r.id for r in first.rows + second.rows] == everything[:40]


@pytest.mark.parametrize("sort", sorted(queries.SORTS))
@pytest.mark.parametrize("term", ["鞋业有", "有限公司", "王娟"])
def test_postgresql_counts_and_pages_a_search_from_one_scan(
    engine, users, many, monkeypatch, backend, sort, term
):
    """PostgreSQL collects a staff search's matches once for both the capped count and the page
    (no separate count); every page, in every sort, equals sorting all the matches, and a search
    with more matches than the cap still pages the newest."""
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 25)
    staff = users["staff"]
    flt = InquiryFilter(search=term)
    with db.session_scope(write=False) as s:
        conds = queries.where(flt, actor=staff, dialect=s.get_bind().dialect.name).clauses()
        everything = list(
            s.exec(select(Inquiry.id).where(*conds).order_by(*queries.SORTS[sort])).all()
        )
    n = len(everything)
    reachable = everything[:25]
    for page in (1, 2, 9):
        pages: list[queries.Page] = []
        seen = _statements(
            engine,
            lambda p=pages, k=page: p.append(_page(flt, staff, page=k, page_size=20, sort=sort)),
        )
        got = pages[0]
        assert got.total == min(n, 25) and got.capped == (n > 25)
        last = -(-min(n, 25) // 20)
        assert got.page == min(page, last)
        start = (got.page - 1) * 20
        assert [r.id for r in got.rows] == reachable[start : start + 20]
        counts = [q for q in seen if "count(" in q and "matched" not in q]
        if backend == "postgres" and n <= 25 and page <= last:
            assert counts == [], seen  # one scan: no separate count


@pytest.mark.parametrize("term", ["王娟", "鞋", "ex"])
def test_a_search_too_short_for_the_index_reads_the_table_once(engine, users, many, backend, term):
    """1–2 characters have no trigram. SQLite answers them from the index of characters and pairs
    (no ``LIKE`` over the table at all); PostgreSQL collects the matching ids once through its
    index of pairs or of characters (``ILIKE`` on what it finds), and the page rows and facet
    counts come from those ids. The same answers as without either."""
    staff = users["staff"]
    flt = InquiryFilter(search=term)
    with db.session_scope(write=False) as s:
        everything, n = _reference(s, flt, staff)
        expected_facets = queries.facets(s, flt, actor=staff)
    got: list = []

    def triage_page():  # what the triage view runs
        with db.session_scope(write=False) as s:
            page = queries.list_page(s, flt, actor=staff, page_size=20, page=2)
            counts = queries.facets(s, flt, actor=staff, capped=page.capped, matched=page.matched)
            got.append((page, counts))

    seen = _statements(engine, triage_page)
    page, counts = got[0]
    assert page.total == n
    assert page.page == min(2, max(1, -(-n // 20)))  # page 2, or the last one
    assert [r.id for r in page.rows] == everything[(page.page - 1) * 20 : page.page * 20]
    assert counts == expected_facets and sum(counts["status"].values()) == n
    if backend == "sqlite":
        assert page.matched is None
        assert not [q for q in seen if " like " in q], seen
        assert any(search.SHORT_TABLE in q for q in seen), seen
    else:
        assert sorted(page.matched) == sorted(everything)
        # two characters through the index of pairs (migration 0021), one through the characters
        index = "inquiry_search_pairs" if len(term) == 2 else "inquiry_search_chars"
        scans = [q for q in seen if "inquiry_search_" in q and "inquiry.id in (" not in q]
        assert len(scans) == 1 and index in scans[0], seen


def test_matched_ids_never_widen_what_the_facets_count(users, many):
    """``matched`` is a hint from the same filter's page: ids that do not match (a draft, a
    different company) are not counted."""
    staff = users["staff"]
    flt = InquiryFilter(search="王娟")
    with db.session_scope(write=False) as s:
        drafts = s.exec(select(Inquiry.id).where(Inquiry.status == "draft")).all()
        counts = queries.facets(s, flt, actor=staff, matched=[*many, *drafts])
        assert counts == queries.facets(s, flt, actor=staff)
