"""The detail panel's reads: the audit trail reuses the inquiry the page has just loaded and still
refuses what the actor may not see — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard import db, inquiries
from dashboard.errors import NotAllowed, NotFound
from tests.conftest import valid_form


def test_the_trail_after_get_reads_the_inquiry_once(engine, users):
    with db.session_scope(engine) as s:
        sent = inquiries.submit(s, actor=users["company"], form=valid_form())
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with db.session_scope(engine, write=False) as s:
            inquiry = inquiries.get(s, actor=users["staff"], inquiry_id=sent.id)
            trail = inquiries.events(s, actor=users["staff"], inquiry_id=sent.id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert inquiry.id == sent.id
    assert [e.action for e, _ in trail] == ["created", "submitted"]
    assert [name for _, name in trail] == [users["company"].label] * 2
    reads = [q for q in seen if q.startswith("SELECT") and " FROM inquiry WHERE" in q]
    assert len(reads) == 1, seen


def test_the_trail_is_refused_for_drafts_unknown_ids_and_enterprise_users(engine, users):
    with db.session_scope(engine) as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=valid_form())
    with pytest.raises(NotFound), db.session_scope(engine, write=False) as s:
        inquiries.events(s, actor=users["staff"], inquiry_id=draft.id)
    with pytest.raises(NotFound), db.session_scope(engine, write=False) as s:
        inquiries.events(s, actor=users["manager"], inquiry_id=draft.id + 1000)
    with pytest.raises(NotAllowed), db.session_scope(engine, write=False) as s:
        inquiries.events(s, actor=users["company"], inquiry_id=draft.id)
