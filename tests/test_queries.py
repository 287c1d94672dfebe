"""queries: every filter alone and combined, counts equal rows, pagination, search, URL round-trip,
tampered parameters and visibility — on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import clock, db, inquiries, queries
from dashboard.errors import NotAllowed
from dashboard.queries import InquiryFilter, conditions, statements
from models import COMPLETION_BUCKETS, Inquiry, User
from tests.conftest import valid_form

# (company, province, city, district, intent, contact, mobile, landline, email)
SPECS = [
    (
        "深圳市华强电子进出口有限公司",
        "440000",
        "440300",
        "440305",
        "insure",
        "张三",
        "13812345678",
        "0755-12345678",
        "zhang@huaqiang.com",
    ),
    (
        "广州市白云贸易有限公司",
        "440000",
        "440100",
        "440111",
        "buyer_credit",
        "李四",
        "13912345678",
        "020-87654321",
        "li@baiyun.cn",
    ),
    (
        "杭州西湖丝绸有限公司",
        "330000",
        "330100",
        "330106",
        "other",
        "王五",
        "13712345678",
        "0571-88886666",
        "wang@xihu-silk.com",
    ),
    (
        "北京中关村科技有限公司",
        "110000",
        None,
        "110108",
        "insure",
        "赵六",
        "13612345678",
        "010-62345678",
        "zhao@zgc.com.cn",
    ),
    (
        "深圳市华强电子进出口有限公司",
        "440000",
        "440300",
        "440304",
        "buyer_credit",
        "钱七",
        "15012345678",
        "0755-23456789",
        "qian@example.com",
    ),
]


@pytest.fixture
def data(engine, users):
    """Five submitted inquiries (two completed), one draft; submitted_at spread over days."""
    ids = []
    with db.session_scope() as s:
        for company, prov, city, dist, intent, contact, mobile, landline, email in SPECS:
            form = valid_form(
                company_name=company,
                province_code=prov,
                city_code=city,
                district_code=dist,
                intent=intent,
                contact_name=contact,
                mobile=mobile,
                landline=landline,
                email=email,
                other_needs="需要报价" if intent == "other" else None,
            )
            ids.append(inquiries.submit(s, actor=users["company"], form=form).id)
        draft = inquiries.save_draft(
            s, actor=users["company"], form=valid_form(company_name="草稿专用有限公司")
        )
        # submitted 0, 1, 3, 10 and 40 days ago (Asia/Shanghai noon)
        base = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a Friday
        for i, days in zip(ids, (0, 1, 3, 10, 40), strict=True):
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == i)
                .values(submitted_at=base - timedelta(days=days))
            )
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[ids[3], ids[4]])
        inquiries.assign(s, actor=users["staff"], inquiry_id=ids[0], assignee_id=users["staff"].id)
        inquiries.assign(s, actor=users["staff"], inquiry_id=ids[1], assignee_id=users["staff2"].id)
    with db.session_scope() as s:
        serials = {i: s.get(Inquiry, i).serial for i in ids}
    return {"ids": ids, "draft": draft.id, "serials": serials}


def _ids(users, flt, who="staff", **kw):
    with db.session_scope(write=False) as s:
        page = queries.list_page(s, flt, actor=users[who], page_size=100, **kw)
        assert page.total == len(page.rows)  # counts equal the rows (all fit on one page)
        return [r.id for r in page.rows]


def idx(data, *positions):
    return {data["ids"][p] for p in positions}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (InquiryFilter(), (0, 1, 2, 3, 4)),
        (InquiryFilter(statuses=("submitted",)), (0, 1, 2)),
        (InquiryFilter(statuses=("completed",)), (3, 4)),
        (InquiryFilter(intents=("insure",)), (0, 3)),
        (InquiryFilter(intents=("insure", "other")), (0, 2, 3)),
        (InquiryFilter(province_code="440000"), (0, 1, 4)),
        (InquiryFilter(province_code="440000", city_code="440300"), (0, 4)),
        (InquiryFilter(submitted_from=date(2026, 3, 17)), (0, 1, 2)),
        (InquiryFilter(submitted_to=date(2026, 3, 19)), (1, 2, 3, 4)),
        (InquiryFilter(submitted_from=date(2026, 3, 19), submitted_to=date(2026, 3, 19)), (1,)),
        (InquiryFilter(assignee="none"), (2, 3, 4)),
        (InquiryFilter(province_code="440000", intents=("buyer_credit",)), (1, 4)),
        (
            InquiryFilter(
                statuses=("submitted",), province_code="440000", submitted_from=date(2026, 3, 20)
            ),
            (0,),
        ),
    ],
)
def test_each_filter_alone_and_combined_selects_exactly_its_rows(users, data, flt, expected):
    assert set(_ids(users, flt)) == idx(data, *expected)


#: Time to complete (seconds) given to five inquiries: each side of the 4- and 24-hour bounds
#: (3:59:59 is still 4小时内: whole hours), plus the longest bucket.
COMPLETION_SECONDS = (0, 4 * 3600 - 1, 4 * 3600, 24 * 3600 - 1, 200 * 3600)


def test_completion_time_selects_the_report_buckets_exactly_at_their_bounds(users, data):
    """处理用时 (``?hours=``) selects by the rollup's whole hours: every bucket holds exactly the
    inquiries whose time to complete falls in it, and nothing that is not completed."""
    ids = data["ids"]
    with db.session_scope() as s:
        submitted = {i: s.get(Inquiry, i).submitted_at for i in ids}
        s.execute(sa.update(Inquiry).where(Inquiry.id.in_(ids)).values(status="completed"))
        for i, seconds in zip(ids, COMPLETION_SECONDS, strict=True):
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == i)
                .values(completed_at=submitted[i] + timedelta(seconds=seconds))
            )
    expected = {key: set() for key in conditions.COMPLETION_KEYS}
    for i, seconds in zip(ids, COMPLETION_SECONDS, strict=True):
        hours = seconds // 3600
        key = next(
            k
            for k, (_, lo, hi) in zip(conditions.COMPLETION_KEYS, COMPLETION_BUCKETS, strict=True)
            if lo <= hours and (hi is None or hours < hi)
        )
        expected[key].add(i)
    assert [len(v) for v in expected.values()] == [2, 2, 0, 0, 0, 1]
    for key, want in expected.items():
        flt = InquiryFilter(statuses=("completed", "submitted"), completion=key)
        assert set(_ids(users, flt)) == want, key
        assert InquiryFilter.from_params(flt.to_params()) == (flt, [])
    # A submitted inquiry has no time to complete: never in a bucket, not even the last.
    with db.session_scope() as s:
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == ids[4])
            .values(status="submitted", completed_at=None)
        )
    assert _ids(users, InquiryFilter(statuses=("submitted",), completion="168-")) == []


def test_a_completion_time_that_is_not_a_bucket_is_ignored_with_a_notice():
    flt, notices = InquiryFilter.from_params({"hours": "5-6"})
    assert flt.completion == "" and notices


def test_assignee_filter_me_and_a_colleague(users, data):
    assert set(_ids(users, InquiryFilter(assignee="me"))) == idx(data, 0)
    assert set(_ids(users, InquiryFilter(assignee="me"), who="staff2")) == idx(data, 1)
    colleague = str(users["staff2"].id)
    assert set(_ids(users, InquiryFilter(assignee=colleague))) == idx(data, 1)


def test_overdue_counts_working_days_only(users, data, monkeypatch):
    # "now" is Tuesday 2026-03-24 13:00 Shanghai; 2 working days back is Friday 03-20 13:00.
    now = datetime(2026, 3, 24, 5, 0, tzinfo=UTC)
    assert clock.overdue_cutoff(now, 2) == datetime(2026, 3, 20, 5, 0, tzinfo=UTC)
    monkeypatch.setattr(conditions, "utcnow", lambda: now)
    # submitted and older than the cutoff: positions 0 (Fri 12:00), 1, 2; 3 and 4 are completed
    assert set(_ids(users, InquiryFilter(overdue=True))) == idx(data, 0, 1, 2)
    monday = datetime(2026, 3, 23, 5, 0, tzinfo=UTC)
    monkeypatch.setattr(conditions, "utcnow", lambda: monday)  # cutoff Thursday 03-19 13:00
    assert set(_ids(users, InquiryFilter(overdue=True))) == idx(data, 1, 2)


def test_staff_never_see_drafts_and_enterprise_only_their_own(users, data, form_factory):
    assert data["draft"] not in _ids(users, InquiryFilter())
    assert data["draft"] not in _ids(users, InquiryFilter(statuses=("draft",)))
    assert data["draft"] not in _ids(users, InquiryFilter(search="草稿专用"))
    assert data["draft"] in _ids(users, InquiryFilter(), who="company")
    assert _ids(users, InquiryFilter(), who="company2") == []
    with db.session_scope(write=False) as s:
        counts = queries.facets(s, InquiryFilter(), actor=users["staff"])
    assert "draft" not in counts["status"]


def test_statements_built_once_never_carry_one_users_values_to_the_next(users, data):
    """The pages reuse one statement per filter plan; the values are bound per call, and a
    value left out is an error, never the previous caller's."""
    for _ in range(2):  # alternate: a cached owner id would show one company the other's rows
        assert data["draft"] in _ids(users, InquiryFilter(), who="company")
        assert _ids(users, InquiryFilter(), who="company2") == []
    with db.session_scope(write=False) as s:
        dialect = s.get_bind().dialect.name
        plan = queries.where(InquiryFilter(), actor=users["company"], dialect=dialect).plan
        stmt = statements.page(plan, "-submitted_at")
        with pytest.raises(sa.exc.StatementError, match="owner_id"):
            s.exec(stmt, params={"page_offset": 0, "page_limit": 10}).all()


def test_other_roles_list_nothing(users, data):
    with db.session_scope(write=False) as s, pytest.raises(NotAllowed):
        queries.list_page(s, InquiryFilter(), actor=users["admin"])


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("华强电子", (0, 4)),  # company name, 4 characters
        ("白云贸", (1,)),  # company, exactly 3
        ("西湖", (2,)),  # company, 2 characters (no trigram)
        ("杭", (2,)),  # 1 character
        ("李四", (1,)),  # contact name
        ("赵", (3,)),  # contact name, 1 character
        ("3712345", (2,)),  # fragment of a mobile
        ("62345678", (3,)),  # fragment of a landline
        ("xihu-silk", (2,)),  # e-mail fragment
        ("XIHU", (2,)),  # case-insensitive
        ("@example.com", (4,)),
        ("zz", ()),
        ("100%", ()),  # LIKE wildcards are literal
        ('"华强', ()),  # quotes are literal, never a syntax error
    ],
)
def test_search_by_each_field_including_short_terms(users, data, term, expected):
    assert set(_ids(users, InquiryFilter(search=term))) == idx(data, *expected)


def test_exact_serial_and_phone_numbers_jump_to_the_match(users, data):
    serial = data["serials"][data["ids"][2]]
    assert _ids(users, InquiryFilter(search=serial)) == [data["ids"][2]]
    assert queries.exact_search(serial) == ("serial", serial)
    assert _ids(users, InquiryFilter(search="139 1234 5678")) == [data["ids"][1]]
    assert _ids(users, InquiryFilter(search="+86 13712345678")) == [data["ids"][2]]
    assert _ids(users, InquiryFilter(search="(010) 62345678")) == [data["ids"][3]]
    assert serial[:10] and set(_ids(users, InquiryFilter(search=serial[-6:]))) >= {data["ids"][2]}


def test_search_index_follows_every_write(users, data, form_factory):
    with db.session_scope() as s:
        new = inquiries.submit(
            s, actor=users["company"], form=form_factory(company_name="新近提交的宁波贸易公司")
        )
    assert _ids(users, InquiryFilter(search="宁波贸易")) == [new.id]
    with db.session_scope() as s:
        s.execute(sa.update(Inquiry).where(Inquiry.id == new.id).values(company_name="改名公司"))
    assert _ids(users, InquiryFilter(search="宁波贸易")) == []
    assert _ids(users, InquiryFilter(search="改名公司")) == [new.id]
    with db.session_scope() as s:
        s.execute(sa.text("DELETE FROM inquiry_event WHERE inquiry_id = :i"), {"i": new.id})
        s.execute(sa.delete(Inquiry).where(Inquiry.id == new.id))
    assert _ids(users, InquiryFilter(search="改名公司")) == []


def test_pagination_edges(users, data):
    with db.session_scope(write=False) as s:
        staff = users["staff"]
        many = [
            queries.list_page(s, InquiryFilter(), actor=staff, page=p, page_size=20)
            for p in (0, 1, 2, 99)
        ]
    assert [p.page for p in many] == [1, 1, 1, 1]
    assert all(p.total == 5 and p.pages == 1 and len(p.rows) == 5 for p in many)
    with db.session_scope(write=False) as s:
        odd = queries.list_page(s, InquiryFilter(), actor=staff, page_size=7)
    assert odd.page_size == 50  # only 20/50/100


def test_pagination_splits_without_overlap(users, engine, form_factory):
    with db.session_scope() as s:
        for i in range(45):
            inquiries.submit(
                s, actor=users["company"], form=form_factory(company_name=f"分页公司{i}")
            )
    with db.session_scope(write=False) as s:
        pages = [
            queries.list_page(s, InquiryFilter(), actor=users["staff"], page=p, page_size=20)
            for p in (1, 2, 3, 4)
        ]
    assert [len(p.rows) for p in pages] == [20, 20, 5, 5]
    assert pages[3].page == 3 and pages[0].pages == 3
    seen = [r.id for p in pages[:3] for r in p.rows]
    assert len(seen) == len(set(seen)) == 45


@pytest.mark.parametrize("sort", ["-submitted_at", "submitted_at", "-serial", "serial"])
def test_sorting(users, data, sort):
    with db.session_scope(write=False) as s:
        rows = queries.list_page(s, InquiryFilter(), actor=users["staff"], sort=sort).rows
    key = sort.lstrip("-")
    values = [getattr(r, key) for r in rows]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_facets_count_each_status_and_intent_of_the_current_filter(users, data):
    with db.session_scope(write=False) as s:
        counts = queries.facets(s, InquiryFilter(province_code="440000"), actor=users["staff"])
        total = queries.count(s, InquiryFilter(province_code="440000"), actor=users["staff"])
    assert counts["status"] == {"submitted": 2, "completed": 1}
    assert counts["intent"] == {"insure": 1, "buyer_credit": 2, "other": 0}
    assert sum(counts["status"].values()) == sum(counts["intent"].values()) == total == 3
    with db.session_scope(write=False) as s:
        narrowed = queries.facets(
            s, InquiryFilter(statuses=("submitted",), intents=("insure",)), actor=users["staff"]
        )
    assert narrowed["status"] == {"submitted": 1, "completed": 0}
    assert narrowed["intent"] == {"insure": 1, "buyer_credit": 0, "other": 0}


def test_possible_duplicates_share_company_mobile_or_email(users, data, form_factory):
    with db.session_scope() as s:
        same_mobile = inquiries.submit(
            s,
            actor=users["company2"],
            form=form_factory(company_name="别的公司", mobile="13912345678"),
        )
        inquiries.save_draft(
            s, actor=users["company"], form=form_factory(company_name="杭州西湖丝绸有限公司")
        )
    with db.session_scope(write=False) as s:
        first = s.get(Inquiry, data["ids"][0])
        dups = queries.possible_duplicates(s, actor=users["staff"], inquiry=first)
        second = s.get(Inquiry, data["ids"][1])
        dups2 = queries.possible_duplicates(s, actor=users["staff"], inquiry=second)
        third = s.get(Inquiry, data["ids"][2])
        dups3 = queries.possible_duplicates(s, actor=users["staff"], inquiry=third)
    assert [(d.id, m) for d, m in dups] == [(data["ids"][4], ("company_name",))]
    assert [(d.id, m) for d, m in dups2] == [(same_mobile.id, ("mobile",))]
    assert dups3 == []  # the draft with the same name is not visible to staff


# --------------------------------------------------------------------------------------------
# URL round-trip

EVERY_FILTER = [
    InquiryFilter(),
    InquiryFilter(statuses=("submitted",)),
    InquiryFilter(statuses=("completed", "submitted"), intents=("other", "insure")),
    InquiryFilter(province_code="440000", city_code="440300"),
    InquiryFilter(province_code="110000"),
    InquiryFilter(submitted_from=date(2026, 1, 1), submitted_to=date(2026, 1, 31)),
    InquiryFilter(submitted_from=date(2026, 1, 1)),
    InquiryFilter(assignee="me"),
    InquiryFilter(assignee="none", overdue=True),
    InquiryFilter(assignee="17"),
    InquiryFilter(search="华强 电子&x=1"),
]


@pytest.mark.parametrize("flt", EVERY_FILTER)
def test_every_filter_round_trips_through_the_url(flt):
    params = flt.to_params()
    assert all(isinstance(v, str) for v in params.values())
    again, notices = InquiryFilter.from_params(params)
    assert notices == []
    assert again == flt


def test_no_status_parameter_means_the_default_submitted_view():
    assert InquiryFilter.from_params({}) == (InquiryFilter(statuses=("submitted",)), [])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "draft"}, InquiryFilter(statuses=("submitted",))),
        ({"status": "completed,bogus"}, InquiryFilter(statuses=("completed",))),
        ({"status": "all", "intent": "<script>"}, InquiryFilter()),
        ({"status": "all", "province": "999999"}, InquiryFilter()),
        ({"status": "all", "province": "440300"}, InquiryFilter()),  # a city is not a province
        ({"status": "all", "city": "440300"}, InquiryFilter()),  # city without its province
        (
            {"status": "all", "province": "330000", "city": "440300"},
            InquiryFilter(province_code="330000"),
        ),
        ({"status": "all", "from": "2026-13-01"}, InquiryFilter()),
        ({"status": "all", "from": "0001-01-01"}, InquiryFilter()),
        ({"status": "all", "from": "2026-02-01", "to": "2026-01-01"}, InquiryFilter()),
        ({"status": "all", "assignee": "everyone"}, InquiryFilter()),
        ({"status": "all", "assignee": "99999999999999"}, InquiryFilter()),
        ({"status": "all", "overdue": "yes"}, InquiryFilter()),
        ({"status": "all", "q": "x" * 500}, InquiryFilter(search="x" * 100)),
    ],
)
def test_tampered_parameters_are_ignored_with_a_notice(params, expected):
    flt, notices = InquiryFilter.from_params(params)
    assert flt == expected
    assert len(notices) >= 1 and all(isinstance(n, str) and n for n in notices)


def test_page_parameters_are_validated():
    assert queries.view_params_from({"page": "3", "size": "100", "sort": "serial"}) == (
        3,
        100,
        "serial",
        [],
    )
    page, size, sort, notices = queries.view_params_from(
        {"page": "-1", "size": "1000000", "sort": "password"}
    )
    assert (page, size, sort) == (1, 50, "-submitted_at") and len(notices) == 3


def test_a_search_with_sql_in_it_is_only_text(users, data):
    assert _ids(users, InquiryFilter(search="' OR 1=1 --")) == []
    with db.session_scope(write=False) as s:
        assert s.exec(select(sa.func.count()).select_from(Inquiry)).one() == 6


def _plain_count(session, flt, actor):
    conds = queries.where(flt, actor=actor, dialect=session.get_bind().dialect.name).clauses()
    return session.exec(select(sa.func.count()).select_from(Inquiry).where(*conds)).one()


@pytest.mark.parametrize(
    "flt",
    [
        InquiryFilter(search="有限公司"),
        InquiryFilter(search="有限公司", statuses=("submitted",)),
        InquiryFilter(search="有限公司", statuses=("completed",), intents=("buyer_credit",)),
        InquiryFilter(search="example", intents=("buyer_credit", "other")),
        InquiryFilter(search="华强电子", province_code="440000"),
    ],
)
def test_search_totals_and_facets_equal_a_plain_count(users, data, flt):
    staff = users["staff"]
    with db.session_scope() as s:  # a completion changes status: the index must follow it
        inquiries.complete(s, actor=staff, inquiry_ids=[data["ids"][1]], note="已处理")
    with db.session_scope(write=False) as s:
        total = queries.count(s, flt, actor=staff)
        counts = queries.facets(s, flt, actor=staff)
        assert total == _plain_count(s, flt, staff) > 0
        for code, n in counts["status"].items():
            narrowed = replace(flt, statuses=(code,)) if code in (flt.statuses or (code,)) else None
            assert n == (_plain_count(s, narrowed, staff) if narrowed else 0)
        for code, n in counts["intent"].items():
            narrowed = replace(flt, intents=(code,)) if code in (flt.intents or (code,)) else None
            assert n == (_plain_count(s, narrowed, staff) if narrowed else 0)
        assert sum(counts["status"].values()) == sum(counts["intent"].values()) == total


def test_an_enterprise_user_finds_its_own_drafts_by_search(users, data):
    assert _ids(users, InquiryFilter(search="草稿专用"), who="company") == [data["draft"]]
    assert _ids(users, InquiryFilter(search="草稿"), who="company") == [data["draft"]]
    assert _ids(users, InquiryFilter(search="草稿专用"), who="company2") == []


# --------------------------------------------------------------------------------------------
# The conditions table (dashboard/queries/conditions.py)

#: A value other than the default for every filter field: a new field needs one here.
SAMPLES = {
    "statuses": ("completed",),
    "intents": ("other", "insure"),
    "province_code": "440000",
    "city_code": "440300",
    "submitted_from": date(2026, 1, 1),
    "submitted_to": date(2026, 1, 31),
    "assignee": "17",
    "overdue": True,
    "completion": "4-24",
    "search": "华强电子",
}
#: What a field needs alongside it to be valid in a link (a city is read within its province).
NEEDS = {"city_code": {"province_code": "440000"}}
STAFF = User(id=7, username="staff-x", password_hash="-", role="staff", is_active=True)
COMPANY = User(id=8, username="company-x", password_hash="-", role="enterprise", is_active=True)


def test_the_table_has_one_row_per_filter_field_with_its_own_url_key_and_binds():
    names = [f.name for f in conditions.FIELDS]
    assert names == [f.name for f in dataclasses.fields(InquiryFilter)]
    assert set(SAMPLES) == set(names)
    url_keys = [f.url_key for f in conditions.FIELDS]
    assert len(set(url_keys)) == len(url_keys)
    assert not set(url_keys) & {"page", "size", "sort", "open"}  # the view's own parameters
    assert InquiryFilter() == InquiryFilter(**{f.name: f.default for f in conditions.FIELDS})


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_field_round_trips_through_its_own_url_key(name):
    field = next(f for f in conditions.FIELDS if f.name == name)
    base = {"statuses": queries.DEFAULT_STATUSES, **NEEDS.get(name, {})}
    flt = InquiryFilter(**base | {name: SAMPLES[name]})
    params = flt.to_params()
    alongside = {f.url_key for f in conditions.FIELDS if f.name in NEEDS.get(name, {})}
    assert set(params) == {field.url_key} | alongside
    assert InquiryFilter.from_params(params) == (flt, [])


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("actor", [STAFF, COMPANY], ids=["staff", "company"])
@pytest.mark.parametrize("name", [None, *sorted(SAMPLES)])
def test_where_has_exactly_the_conditions_of_the_fields_that_differ_from_the_default(
    name, actor, dialect
):
    seen = conditions.visibility(actor, dialect)
    everything = queries.where(InquiryFilter(**SAMPLES), actor=actor, dialect=dialect)
    flt = InquiryFilter(**({name: SAMPLES[name]} if name else {}))
    w = queries.where(flt, actor=actor, dialect=dialect)
    assert w.plan[: len(seen)] == tuple(c for c, _ in seen)
    added = w.plan[len(seen) :]
    assert len(added) == (1 if name else 0)
    assert len(everything.plan) == len(seen) + len(SAMPLES)  # one condition per field
    assert set(added) <= set(everything.plan)
    assert set(w.params) == {c.bind for c in w.plan if c.bind}  # every value bound, no other


def test_a_plan_is_the_cache_key_of_its_statements_whatever_the_values():
    """Building a statement costs more than running an indexed one: two filters of the same
    plan share one built statement, and only the bound values differ."""
    one = queries.where(InquiryFilter(province_code="440000"), actor=STAFF, dialect="sqlite")
    other = queries.where(InquiryFilter(province_code="330000"), actor=COMPANY, dialect="sqlite")
    same_shape = queries.where(InquiryFilter(province_code="330000"), actor=STAFF, dialect="sqlite")
    assert one.plan == same_shape.plan and one.params != same_shape.params
    assert statements.page(one.plan, "serial") is statements.page(same_shape.plan, "serial")
    assert one.plan != other.plan  # an enterprise user's plan is another statement
    assert hash(one.plan) == hash(same_shape.plan)
