"""possible_duplicates: three indexed lookups give the same answer as the plain OR of the three
equalities — the same rows, in the same order, with the same matched fields — and respect who may
see what; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import db, inquiries, queries
from models import Inquiry
from tests.conftest import valid_form

BASE = dict(company_name="宁波甬江外贸有限公司", mobile="13800001111", email="a@yongjiang.cn")
OTHER = dict(company_name="温州瓯海鞋业有限公司", mobile="13900002222", email="b@ouhai.cn")


def _reference(session, *, actor, inquiry, limit):
    """The query as it was: one OR of the three equalities, newest first."""
    dialect = session.get_bind().dialect.name
    conds = queries.where(queries.InquiryFilter(), actor=actor, dialect=dialect).clauses()
    rows = session.exec(
        select(Inquiry)
        .where(
            *conds,
            Inquiry.id != inquiry.id,
            sa.or_(
                Inquiry.company_name == inquiry.company_name,
                Inquiry.mobile == inquiry.mobile,
                Inquiry.email == inquiry.email,
            ),
        )
        .order_by(sa.desc(Inquiry.submitted_at), sa.desc(Inquiry.id))
        .limit(limit)
    ).all()
    fields = ("company_name", "mobile", "email")
    return [(r.id, tuple(f for f in fields if getattr(r, f) == getattr(inquiry, f))) for r in rows]


@pytest.fixture
def overlapping(engine, users):
    """One inquiry and 40 others sharing every combination of its company, mobile and e-mail
    (and some sharing nothing), from two companies, with ties on the submission time; plus
    drafts that share everything."""
    combos = [(c, m, e) for c in (0, 1) for m in (0, 1) for e in (0, 1)]
    made = []
    with db.session_scope(engine) as s:
        target = inquiries.submit(s, actor=users["company"], form=valid_form(**BASE))
        for n in range(40):
            c, m, e = combos[n % len(combos)]
            values = {
                "company_name": (BASE if c else OTHER)["company_name"],
                "mobile": (BASE if m else OTHER)["mobile"],
                "email": (BASE if e else OTHER)["email"],
            }
            owner = users["company"] if n % 3 else users["company2"]
            made.append(inquiries.submit(s, actor=owner, form=valid_form(**values)).id)
        drafts = [
            inquiries.save_draft(s, actor=users["company"], form=valid_form(**BASE)).id
            for _ in range(2)
        ]
        base = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
        for n, i in enumerate(made):  # pairs share a submission time: the id breaks the tie
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == i)
                .values(submitted_at=base - timedelta(hours=(n * 7919) % 37 // 2))
            )
        inquiries.complete(s, actor=users["staff"], inquiry_ids=made[::5])
    return {"target": target.id, "others": made, "drafts": drafts}


@pytest.mark.parametrize("who", ["staff", "manager", "company", "company2"])
@pytest.mark.parametrize("limit", [1, 5, 20, 100])
def test_the_same_rows_order_and_fields_as_the_or_query(users, overlapping, who, limit):
    actor = users[who]
    with db.session_scope(write=False) as s:
        for inquiry_id in (overlapping["target"], *overlapping["others"][:3]):
            inquiry = s.get(Inquiry, inquiry_id)
            got = queries.possible_duplicates(s, actor=actor, inquiry=inquiry, limit=limit)
            expected = _reference(s, actor=actor, inquiry=inquiry, limit=limit)
            assert [(r.id, fields) for r, fields in got] == expected
            assert len(got) == min(limit, len(expected)) and (limit == 100 or expected)


def test_every_combination_of_matched_fields_is_reported(users, overlapping):
    with db.session_scope(write=False) as s:
        target = s.get(Inquiry, overlapping["target"])
        got = queries.possible_duplicates(s, actor=users["staff"], inquiry=target, limit=100)
    ids = {r.id for r, _ in got}
    assert {fields for _, fields in got} == {
        ("company_name",),
        ("mobile",),
        ("email",),
        ("company_name", "mobile"),
        ("company_name", "email"),
        ("mobile", "email"),
        ("company_name", "mobile", "email"),
    }
    assert len(got) == 35  # 40 others, 5 of which share nothing
    assert target.id not in ids
    assert not ids & set(overlapping["drafts"])  # staff never see drafts
    assert all(fields for _, fields in got)


def test_an_enterprise_user_sees_only_its_own_duplicates(users, overlapping):
    with db.session_scope(write=False) as s:
        target = s.get(Inquiry, overlapping["target"])
        mine = queries.possible_duplicates(s, actor=users["company"], inquiry=target, limit=100)
        theirs = queries.possible_duplicates(s, actor=users["company2"], inquiry=target, limit=100)
    owners = {users["company"].id}
    assert {r.owner_id for r, _ in mine} == owners
    assert set(overlapping["drafts"]) <= {r.id for r, _ in mine}  # its own drafts included
    assert {r.owner_id for r, _ in theirs} == {users["company2"].id}
