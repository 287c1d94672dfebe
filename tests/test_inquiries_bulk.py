"""Bulk completion (标记为已完成 on several inquiries): one UPDATE, one multi-row INSERT of the
audit events, the versions bumped once, and the returned objects showing the new state — on
SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import db, inquiries
from dashboard.errors import Conflict, FormInvalid, NotFound
from models import Inquiry, InquiryEvent
from tests.conftest import valid_form


def _submitted(engine, actor, n=1):
    with db.session_scope(engine) as s:
        return [inquiries.submit(s, actor=actor, form=valid_form()) for _ in range(n)]


def _statements(engine):
    """Every statement SQLAlchemy sends while the returned list is being collected."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", record)


def test_bulk_complete_is_one_update_and_one_insert(engine, users):
    a, b, c = _submitted(engine, users["company"], 3)
    with db.session_scope(engine) as s:  # b is one version ahead of the others
        inquiries.assign(s, actor=users["staff"], inquiry_id=b.id, assignee_id=users["staff"].id)
    with db.session_scope(engine) as s:
        before = {i.id: i.version for i in s.exec(select(Inquiry)).all()}
    seen, stop = _statements(engine)
    try:
        with db.session_scope(engine) as s:
            done = inquiries.complete(
                s, actor=users["staff2"], inquiry_ids=[c.id, a.id, b.id, a.id], note="批量完成"
            )
    finally:
        stop()
    updates = [q for q in seen if re.match(r"UPDATE inquiry\b", q)]
    inserts = [q for q in seen if q.startswith("INSERT INTO inquiry_event")]
    assert len(updates) == 1 and "version + " in updates[0] and " IN " in updates[0]
    assert len(inserts) == 1 and "SELECT" in inserts[0]  # INSERT … SELECT, all rows at once
    assert not [q for q in seen if q.startswith("UPDATE inquiry SET") and q not in updates]

    # the selection's order, each inquiry once, showing what the database now holds
    assert [i.id for i in done] == [c.id, a.id, b.id]
    with db.session_scope(engine) as s:
        stored = {i.id: i for i in s.exec(select(Inquiry)).all()}
        events = s.exec(
            select(InquiryEvent).where(InquiryEvent.action == "completed").order_by(InquiryEvent.id)
        ).all()
    for inquiry in done:  # detached after the scope; nothing left to load
        row = stored[inquiry.id]
        assert inquiry.status == row.status == "completed"
        assert inquiry.version == row.version == before[inquiry.id] + 1
        assert inquiry.completed_at == row.completed_at == row.updated_at == inquiry.updated_at
        assert inquiry.completed_at is not None
    assert sorted(e.inquiry_id for e in events) == sorted([c.id, a.id, b.id])  # one each
    for e in events:
        assert (e.actor_id, e.from_status, e.to_status, e.note) == (
            users["staff2"].id,
            "submitted",
            "completed",
            "批量完成",
        )
        assert e.at == stored[e.inquiry_id].completed_at


def test_a_page_of_selections_writes_one_event_per_inquiry(engine, users):
    ids = [i.id for i in _submitted(engine, users["company"], 60)]
    with db.session_scope(engine) as s:
        done = inquiries.complete(s, actor=users["manager"], inquiry_ids=ids[::-1])
    assert [i.id for i in done] == ids[::-1]
    with db.session_scope(engine) as s:
        events = s.exec(select(InquiryEvent).where(InquiryEvent.action == "completed")).all()
        rows = s.exec(select(Inquiry)).all()
    assert sorted(e.inquiry_id for e in events) == ids
    assert {(r.status, r.version) for r in rows} == {("completed", 3)}  # saved, submitted, done
    assert {e.at for e in events} == {r.completed_at for r in rows}


def test_a_refused_bulk_completion_writes_nothing(engine, users):
    a, b = _submitted(engine, users["company"], 2)
    with db.session_scope(engine) as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=valid_form())
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[b.id], note="已处理")

    with pytest.raises(NotFound, match="^找不到所选的询保申请$"), db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[a.id, draft.id])
    with pytest.raises(Conflict) as err, db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[a.id, b.id])
    assert str(err.value) == f"询保申请 {b.serial} 已被他人标记为已完成，请刷新后查看"
    with pytest.raises(Conflict) as err, db.session_scope(engine) as s:
        inquiries.complete(
            s, actor=users["staff"], inquiry_ids=[a.id], expected_versions={a.id: a.version - 1}
        )
    assert str(err.value) == f"询保申请 {a.serial} 已被他人修改，请刷新后再操作"
    with pytest.raises(FormInvalid), db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[])

    with db.session_scope(engine) as s:
        row = s.get(Inquiry, a.id)
        assert (row.status, row.version, row.completed_at) == ("submitted", a.version, None)
        completed = s.exec(
            select(InquiryEvent.inquiry_id).where(InquiryEvent.action == "completed")
        ).all()
    assert completed == [b.id]
