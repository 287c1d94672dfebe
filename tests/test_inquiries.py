"""The lifecycle: transitions, authorization, serials, optimistic locking and the audit trail."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import db, inquiries
from dashboard.errors import Conflict, FormInvalid, NotAllowed, NotFound
from models import Inquiry, InquiryEvent
from tests.conftest import valid_form


def _draft(engine, actor, **overrides):
    with db.session_scope(engine) as s:
        return inquiries.save_draft(s, actor=actor, form=valid_form(**overrides))


def _submitted(engine, actor, **overrides):
    with db.session_scope(engine) as s:
        return inquiries.submit(s, actor=actor, form=valid_form(**overrides))


def _trail(engine, inquiry_id):
    with db.session_scope(engine) as s:
        events = s.exec(
            select(InquiryEvent)
            .where(InquiryEvent.inquiry_id == inquiry_id)
            .order_by(InquiryEvent.id)
        ).all()
        return [(e.action, e.from_status, e.to_status, e.actor_id, e.note) for e in events]


def test_save_creates_a_draft_with_an_18_digit_serial_and_an_audit_event(engine, users):
    inquiry = _draft(engine, users["company"])
    assert inquiry.status == "draft"
    assert re.fullmatch(r"20\d{16}", inquiry.serial)
    assert inquiry.owner_id == users["company"].id
    assert inquiry.created_at.tzinfo is not None
    assert _trail(engine, inquiry.id) == [("created", None, "draft", users["company"].id, "")]


def test_saving_a_draft_again_updates_it_and_keeps_the_serial(engine, users):
    first = _draft(engine, users["company"])
    with db.session_scope(engine) as s:
        again = inquiries.save_draft(
            s,
            actor=users["company"],
            inquiry_id=first.id,
            expected_version=first.version,
            form=valid_form(contact_name="李四"),
        )
    assert again.serial == first.serial
    assert again.contact_name == "李四"
    assert again.version == first.version + 1
    assert [a for a, *_ in _trail(engine, first.id)] == ["created", "saved"]


def test_submit_saves_and_submits_in_one_step(engine, users):
    draft = _draft(engine, users["company"])
    with db.session_scope(engine) as s:
        done = inquiries.submit(
            s, actor=users["company"], inquiry_id=draft.id, form=valid_form(contact_name="王五")
        )
    assert done.status == "submitted"
    assert done.submitted_at is not None
    assert done.contact_name == "王五"
    assert [(a, f, t) for a, f, t, *_ in _trail(engine, draft.id)] == [
        ("created", None, "draft"),
        ("saved", "draft", "draft"),
        ("submitted", "draft", "submitted"),
    ]


def test_submit_without_a_draft_creates_and_submits(engine, users):
    inquiry = _submitted(engine, users["company"])
    assert inquiry.status == "submitted"
    assert [a for a, *_ in _trail(engine, inquiry.id)] == ["created", "submitted"]


def test_an_invalid_form_is_refused_and_nothing_saved_changes(engine, users):
    draft = _draft(engine, users["company"], contact_name="原来的联系人")
    with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
        inquiries.save_draft(
            s,
            actor=users["company"],
            inquiry_id=draft.id,
            form=valid_form(contact_name="新联系人", mobile="12345"),
        )
    assert "联系手机" in err.value.errors["mobile"]
    with db.session_scope(engine) as s:
        stored = s.get(Inquiry, draft.id)
        assert stored.contact_name == "原来的联系人"
        assert stored.version == draft.version
        assert s.exec(select(sa.func.count()).select_from(Inquiry)).one() == 1


def test_submitted_and_completed_inquiries_are_read_only(engine, users):
    inquiry = _submitted(engine, users["company"])
    for action in (inquiries.save_draft, inquiries.submit):
        with pytest.raises(NotAllowed), db.session_scope(engine) as s:
            action(s, actor=users["company"], inquiry_id=inquiry.id, form=valid_form())
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note="已处理")
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        inquiries.save_draft(s, actor=users["company"], inquiry_id=inquiry.id, form=valid_form())
    with pytest.raises(Conflict), db.session_scope(engine) as s:
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users["staff"].id
        )


def test_a_draft_cannot_be_completed(engine, users):
    draft = _draft(engine, users["company"])
    with pytest.raises(NotFound), db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[draft.id])


def test_complete_writes_the_event_with_the_note(engine, users):
    inquiry = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:
        [done] = inquiries.complete(
            s, actor=users["staff"], inquiry_ids=[inquiry.id], note="已电话联系"
        )
    assert done.status == "completed" and done.completed_at is not None
    assert _trail(engine, inquiry.id)[-1] == (
        "completed",
        "submitted",
        "completed",
        users["staff"].id,
        "已电话联系",
    )


@pytest.mark.parametrize("reply", ["", "   ", "\n\t\n"])
def test_completing_one_without_a_reply_is_refused_naming_the_field(engine, users, reply):
    inquiry = _submitted(engine, users["company"])
    with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note=reply)
    assert list(err.value.errors) == ["note"]
    assert "处理意见" in err.value.errors["note"]
    assert [a for a, *_ in _trail(engine, inquiry.id)] == ["created", "submitted"]


def test_completing_many_shares_one_reply_which_may_be_empty(engine, users):
    a, b, c, d = (_submitted(engine, users["company"]) for _ in range(4))
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[a.id, b.id], note="统一答复")
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[c.id, d.id])
    assert [_trail(engine, i.id)[-1][4] for i in (a, b, c, d)] == ["统一答复", "统一答复", "", ""]


def test_a_too_long_reply_is_refused_naming_the_field(engine, users):
    inquiry = _submitted(engine, users["company"])
    with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note="长" * 2001)
    assert err.value.errors["note"] == "处理意见不能超过2000个字符（现有2001个）"


def test_the_company_sees_its_progress_and_the_reply_but_never_the_notes(engine, users):
    inquiry = _submitted(engine, users["company"])

    def progress(who="company"):
        with db.session_scope(engine, write=False) as s:
            return inquiries.progress(s, actor=users[who], inquiry_id=inquiry.id)

    waiting = progress()
    assert (waiting.status, waiting.taken_at, waiting.taken_by, waiting.reply) == (
        "submitted",
        None,
        None,
        "",
    )
    assert waiting.submitted_at == inquiry.submitted_at
    with db.session_scope(engine) as s:
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users["staff"].id
        )
        inquiries.add_note(s, actor=users["staff"], inquiry_id=inquiry.id, text="内部：客户难缠")
        inquiries.complete(
            s, actor=users["staff"], inquiry_ids=[inquiry.id], note="已为贵司安排承保方案"
        )
    done = progress()
    assert done.status == "completed" and done.completed_at is not None
    assert done.taken_at is not None and done.taken_at <= done.completed_at
    assert done.taken_by is None  # staff names stay inside unless the insurer chooses
    assert done.reply == "已为贵司安排承保方案"
    assert "内部" not in repr(done)
    with pytest.raises(NotFound), db.session_scope(engine, write=False) as s:
        inquiries.progress(s, actor=users["company2"], inquiry_id=inquiry.id)


def test_progress_names_the_staff_member_when_the_insurer_chooses(engine, users, monkeypatch):
    from dashboard.settings import get_settings

    monkeypatch.setenv("DASHBOARD_SHOW_STAFF_NAMES", "1")
    get_settings.cache_clear()
    inquiry = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users["staff2"].id
        )
        found = inquiries.progress(s, actor=users["company"], inquiry_id=inquiry.id)
    assert found.taken_by == "STAFF2"


def test_completing_twice_is_a_conflict_and_keeps_the_first(engine, users):
    inquiry = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note="first")
    with pytest.raises(Conflict, match=inquiry.serial), db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff2"], inquiry_ids=[inquiry.id], note="second")
    trail = _trail(engine, inquiry.id)
    assert [a for a, *_ in trail].count("completed") == 1
    assert trail[-1][3:] == (users["staff"].id, "first")


def test_a_stale_version_is_a_conflict(engine, users):
    inquiry = _submitted(engine, users["company"])
    seen = inquiry.version
    with db.session_scope(engine) as s:
        inquiries.assign(
            s, actor=users["staff2"], inquiry_id=inquiry.id, assignee_id=users["staff2"].id
        )
    with pytest.raises(Conflict), db.session_scope(engine) as s:
        inquiries.complete(
            s, actor=users["staff"], inquiry_ids=[inquiry.id], expected_versions={inquiry.id: seen}
        )
    with db.session_scope(engine) as s:
        assert s.get(Inquiry, inquiry.id).status == "submitted"


def test_a_stale_draft_save_is_a_conflict(engine, users):
    draft = _draft(engine, users["company"])
    with db.session_scope(engine) as s:
        inquiries.save_draft(
            s,
            actor=users["company"],
            inquiry_id=draft.id,
            expected_version=draft.version,
            form=valid_form(contact_name="甲"),
        )
    with pytest.raises(Conflict), db.session_scope(engine) as s:
        inquiries.save_draft(
            s,
            actor=users["company"],
            inquiry_id=draft.id,
            expected_version=draft.version,
            form=valid_form(contact_name="乙"),
        )


def test_bulk_complete_is_all_or_nothing(engine, users):
    a = _submitted(engine, users["company"])
    b = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[b.id], note="已处理")
    with pytest.raises(Conflict), db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[a.id, b.id])
    with db.session_scope(engine) as s:
        assert s.get(Inquiry, a.id).status == "submitted"
    c = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:
        done = inquiries.complete(s, actor=users["manager"], inquiry_ids=[a.id, c.id], note="批量")
    assert {i.status for i in done} == {"completed"}


def test_assign_and_note_are_audited(engine, users):
    inquiry = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users["staff2"].id
        )
        inquiries.add_note(s, actor=users["staff"], inquiry_id=inquiry.id, text="客户下午回电")
    trail = _trail(engine, inquiry.id)
    assert trail[-2][0] == "assigned" and "STAFF2" in trail[-2][4]
    assert trail[-1] == ("noted", "submitted", "submitted", users["staff"].id, "客户下午回电")
    with db.session_scope(engine) as s:
        names = [
            name for _, name in inquiries.events(s, actor=users["manager"], inquiry_id=inquiry.id)
        ]
    assert names == ["COMPANY", "COMPANY", "STAFF", "STAFF"]


def test_only_staff_and_managers_can_be_assignees(engine, users):
    inquiry = _submitted(engine, users["company"])
    for who in ("company", "admin"):
        with pytest.raises(FormInvalid), db.session_scope(engine) as s:
            inquiries.assign(
                s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users[who].id
            )


# --- authorization matrix -------------------------------------------------------------------

ROLES = ["company", "company2", "staff", "manager", "admin"]


@pytest.mark.parametrize("who", ROLES)
def test_who_may_save_and_submit(engine, users, who):
    if who.startswith("company"):
        assert _draft(engine, users[who]).owner_id == users[who].id
        assert _submitted(engine, users[who]).status == "submitted"
    else:
        with pytest.raises(NotAllowed):
            _draft(engine, users[who])
        with pytest.raises(NotAllowed):
            _submitted(engine, users[who])


@pytest.mark.parametrize(
    ("who", "sees_draft", "sees_submitted"),
    [
        ("company", True, True),
        ("company2", False, False),
        ("staff", False, True),
        ("manager", False, True),
        ("admin", False, False),
    ],
)
def test_who_may_see_which_inquiry(engine, users, who, sees_draft, sees_submitted):
    draft = _draft(engine, users["company"])
    sent = _submitted(engine, users["company"])
    for inquiry, allowed in ((draft, sees_draft), (sent, sees_submitted)):
        with db.session_scope(engine) as s:
            if allowed:
                assert inquiries.get(s, actor=users[who], inquiry_id=inquiry.id).id == inquiry.id
            else:
                with pytest.raises((NotFound, NotAllowed)):
                    inquiries.get(s, actor=users[who], inquiry_id=inquiry.id)


@pytest.mark.parametrize("who", ["company", "company2", "admin"])
def test_only_staff_and_managers_triage(engine, users, who):
    sent = _submitted(engine, users["company"])
    calls = [
        lambda s: inquiries.assign(
            s, actor=users[who], inquiry_id=sent.id, assignee_id=users["staff"].id
        ),
        lambda s: inquiries.add_note(s, actor=users[who], inquiry_id=sent.id, text="x"),
        lambda s: inquiries.complete(s, actor=users[who], inquiry_ids=[sent.id]),
        lambda s: inquiries.events(s, actor=users[who], inquiry_id=sent.id),
    ]
    for call in calls:
        with pytest.raises(NotAllowed), db.session_scope(engine) as s:
            call(s)
    with db.session_scope(engine) as s:
        assert s.get(Inquiry, sent.id).status == "submitted"


def test_another_company_cannot_edit_a_draft_by_id(engine, users):
    draft = _draft(engine, users["company"])
    with pytest.raises(NotFound), db.session_scope(engine) as s:
        inquiries.save_draft(s, actor=users["company2"], inquiry_id=draft.id, form=valid_form())
    with pytest.raises(NotFound), db.session_scope(engine) as s:
        inquiries.submit(s, actor=users["company2"], inquiry_id=draft.id, form=valid_form())


def test_an_inactive_user_can_do_nothing(engine, users):
    with db.session_scope(engine) as s:
        user = s.merge(users["company"])
        user.is_active = False
    with pytest.raises(NotAllowed):
        _draft(engine, user)


# --- serials and concurrency ------------------------------------------------------------------


def test_serials_increase_and_start_with_the_year(engine, users):
    serials = [_draft(engine, users["company"]).serial for _ in range(5)]
    assert serials == sorted(serials)
    assert len(set(serials)) == 5
    assert all(s[4:] == f"{int(serials[0][4:]) + i:014d}" for i, s in enumerate(serials))


def test_concurrent_saves_get_distinct_serials(engine, users):
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker():
        try:
            for _ in range(5):
                with db.session_scope(engine) as s:
                    inquiry = inquiries.save_draft(s, actor=users["company"], form=valid_form())
                    serial = inquiry.serial
                with lock:
                    results.append(serial)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 40
    assert len(set(results)) == 40
    with db.session_scope(engine) as s:
        assert s.exec(select(sa.func.count(sa.distinct(Inquiry.serial)))).one() == 40


def test_two_staff_completing_at_once_one_wins(engine, users):
    inquiry = _submitted(engine, users["company"])
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def worker(actor):
        barrier.wait()
        try:
            with db.session_scope(engine) as s:
                inquiries.complete(s, actor=actor, inquiry_ids=[inquiry.id], note="已处理")
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(users[n],)) for n in ("staff", "staff2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert [a for a, *_ in _trail(engine, inquiry.id)].count("completed") == 1
