"""The inquiry lifecycle: draft → submitted → completed, with authorization and an audit trail.

Every rule lives here, not in the views, so any front end calling these functions is as safe as
the app: enterprise users see and edit only their own inquiries and only while they are drafts;
staff and managers never see drafts; submitted and completed inquiries are read-only except for
the transitions below. Every transition writes one ``InquiryEvent``.

Concurrency: rows are read ``FOR UPDATE`` (PostgreSQL) inside write transactions (SQLite's write
scopes hold the database write lock, see ``db.session_scope``), and ``version`` is compared with
what the caller saw, so a concurrent change is reported as ``Conflict`` and never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from dashboard import accounts, dialect
from dashboard.clock import SHANGHAI
from dashboard.errors import Conflict, FormInvalid, NotAllowed, NotFound
from models import (
    Action,
    Inquiry,
    InquiryEvent,
    InquiryForm,
    Role,
    SerialCounter,
    Status,
    User,
    clean_text,
    length_problem,
    text_problem,
    utcnow,
)

STAFF_ROLES = (Role.staff.value, Role.manager.value)
MAX_NOTE_LENGTH = 2000


# --------------------------------------------------------------------------------------------
# Serials


def allocate_serials(session: Session, *, year: int, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive serials for ``year``: 4-digit year + 14-digit number.

    The counter row is updated in place (``UPDATE … RETURNING``); the row lock (PostgreSQL) or the
    write lock (SQLite) makes two concurrent allocations wait for each other, so they never share
    a number, and numbers only grow.
    """
    if count < 1:
        return []
    table = SerialCounter.__table__
    session.execute(
        dialect.insert(dialect.name(session), table)
        .values(year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    last = session.execute(
        sa.update(table)
        .where(table.c.year == year)
        .values(last_value=table.c.last_value + count)
        .returning(table.c.last_value)
    ).scalar_one()
    first = last - count + 1
    if last >= 10**14:
        raise Conflict(f"{year}年的询保流水号已用尽")
    return [f"{year:04d}{n:014d}" for n in range(first, last + 1)]


# --------------------------------------------------------------------------------------------
# Helpers


def _event(
    session: Session,
    inquiry: Inquiry,
    *,
    actor: User,
    action: Action,
    at: datetime,
    from_status: str | None,
    to_status: str | None,
    note: str = "",
) -> InquiryEvent:
    event = InquiryEvent(
        inquiry_id=inquiry.id,
        actor_id=actor.id,
        at=at,
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    session.add(event)
    return event


# Statements the pages run on every click, built once (building one costs more than running
# it: see ``queries.Where``); each call binds its own values.
_LOAD_FOR_UPDATE = (
    select(Inquiry)
    .where(Inquiry.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(Inquiry.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_GET = (
    select(Inquiry)
    .where(Inquiry.id == sa.bindparam("id"))
    .execution_options(populate_existing=True)
)
_EVENTS = (
    select(InquiryEvent, User)
    .join(User, User.id == InquiryEvent.actor_id, isouter=True)
    .where(InquiryEvent.inquiry_id == sa.bindparam("inquiry_id"))
    .order_by(InquiryEvent.at, InquiryEvent.id)
)
_INQUIRY = Inquiry.__table__
_TRAIL = InquiryEvent.__table__
_COMPLETE = (
    sa.update(_INQUIRY)
    .where(
        _INQUIRY.c.id.in_(sa.bindparam("ids", expanding=True)),
        _INQUIRY.c.status == Status.submitted.value,
    )
    .values(
        status=Status.completed.value,
        completed_at=sa.bindparam("now", type_=_INQUIRY.c.completed_at.type),
        updated_at=sa.bindparam("now", type_=_INQUIRY.c.updated_at.type),
        version=_INQUIRY.c.version + 1,
    )
    .returning(_INQUIRY.c.id, _INQUIRY.c.version)
)
_COMPLETE_EVENTS = sa.insert(_TRAIL).from_select(
    ["inquiry_id", "actor_id", "at", "action", "from_status", "to_status", "note"],
    sa.select(
        _INQUIRY.c.id,
        sa.bindparam("actor_id", type_=_TRAIL.c.actor_id.type),
        sa.bindparam("now", type_=_TRAIL.c.at.type),
        sa.literal(Action.completed.value, _TRAIL.c.action.type),
        sa.literal(Status.submitted.value, _TRAIL.c.from_status.type),
        sa.literal(Status.completed.value, _TRAIL.c.to_status.type),
        sa.bindparam("note", type_=_TRAIL.c.note.type),
    )
    .where(_INQUIRY.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_INQUIRY.c.id),
)


def _load_for_update(session: Session, inquiry_ids: Sequence[int]) -> dict[int, Inquiry]:
    rows = session.exec(_LOAD_FOR_UPDATE, params={"ids": list(inquiry_ids)}).all()
    return {row.id: row for row in rows}


def _visible(actor: User, inquiry: Inquiry) -> bool:
    if actor.role == Role.enterprise:
        return inquiry.owner_id == actor.id
    if actor.role in STAFF_ROLES:
        return inquiry.status != Status.draft
    return False


def _checked_note(text: str | None, label: str) -> str:
    """A note as stored (NFKC, stripped); FormInvalid naming ``label`` when it is too long or
    holds control or invisible characters (PostgreSQL would refuse a NUL outright)."""
    problem = length_problem(text, label, MAX_NOTE_LENGTH) or text_problem(
        text, label, multiline=True
    )
    if problem:
        raise FormInvalid({"note": problem})
    return clean_text(text) or ""


def _validated(form: InquiryForm) -> dict:
    errors = form.errors()
    if errors:
        raise FormInvalid(errors)
    return form.clean_values()


def _write_draft(
    session: Session,
    *,
    actor: User,
    form: InquiryForm,
    inquiry_id: int | None,
    expected_version: int | None,
    now: datetime,
) -> Inquiry:
    actor = accounts.require_role(session, actor, Role.enterprise.value, write=True)
    values = _validated(form)
    if inquiry_id is None:
        serial = allocate_serials(session, year=now.astimezone(SHANGHAI).year)[0]
        inquiry = Inquiry(
            serial=serial,
            owner_id=actor.id,
            status=Status.draft.value,
            created_at=now,
            updated_at=now,
            **values,
        )
        session.add(inquiry)
        session.flush()
        _event(
            session,
            inquiry,
            actor=actor,
            action=Action.created,
            at=now,
            from_status=None,
            to_status=Status.draft.value,
        )
        return inquiry
    inquiry = _load_for_update(session, [inquiry_id]).get(inquiry_id)
    if inquiry is None or inquiry.owner_id != actor.id:
        raise NotFound("找不到该询保申请")
    if inquiry.status != Status.draft:
        raise NotAllowed(f"询保申请 {inquiry.serial} 已提交，不能再修改")
    if expected_version is not None and inquiry.version != expected_version:
        raise Conflict(f"询保申请 {inquiry.serial} 已在别处被修改，请重新打开后再保存")
    for key, value in values.items():
        setattr(inquiry, key, value)
    inquiry.version += 1
    inquiry.updated_at = now
    session.add(inquiry)
    session.flush()
    _event(
        session,
        inquiry,
        actor=actor,
        action=Action.saved,
        at=now,
        from_status=Status.draft.value,
        to_status=Status.draft.value,
    )
    return inquiry


# --------------------------------------------------------------------------------------------
# Entry points (DESIGN.md)


def save_draft(
    session: Session,
    *,
    actor: User,
    form: InquiryForm,
    inquiry_id: int | None = None,
    expected_version: int | None = None,
) -> Inquiry:
    """Create a draft (暂存) or update the actor's own draft. Validates every field first.

    Raises FormInvalid (nothing is written), NotFound (not the actor's), NotAllowed (not a draft
    any more), Conflict (``expected_version`` is stale).
    """
    inquiry = _write_draft(
        session,
        actor=actor,
        form=form,
        inquiry_id=inquiry_id,
        expected_version=expected_version,
        now=utcnow(),
    )
    session.flush()
    return inquiry


def submit(
    session: Session,
    *,
    actor: User,
    form: InquiryForm,
    inquiry_id: int | None = None,
    expected_version: int | None = None,
) -> Inquiry:
    """Save and submit in one step: the inquiry becomes 已提交 with ``submitted_at`` set."""
    now = utcnow()
    inquiry = _write_draft(
        session,
        actor=actor,
        form=form,
        inquiry_id=inquiry_id,
        expected_version=expected_version,
        now=now,
    )
    inquiry.status = Status.submitted.value
    inquiry.submitted_at = now
    inquiry.version += 1
    session.add(inquiry)
    session.flush()
    _event(
        session,
        inquiry,
        actor=actor,
        action=Action.submitted,
        at=now,
        from_status=Status.draft.value,
        to_status=Status.submitted.value,
    )
    return inquiry


def get(session: Session, *, actor: User, inquiry_id: int) -> Inquiry:
    """One inquiry the actor may see; NotFound for anything else (existence is not revealed)."""
    actor = accounts.require_role(session, actor, Role.enterprise.value, *STAFF_ROLES)
    inquiry = session.exec(_GET, params={"id": inquiry_id}).first()
    if inquiry is None or not _visible(actor, inquiry):
        raise NotFound("找不到该询保申请")
    return inquiry


def assign(session: Session, *, actor: User, inquiry_id: int, assignee_id: int | None) -> Inquiry:
    """Make ``assignee_id`` (an active staff member or manager) responsible; None unassigns.

    Only submitted inquiries can be (re)assigned; completed ones are read-only.
    """
    actor = accounts.require_role(session, actor, *STAFF_ROLES, write=True)
    inquiry = _load_for_update(session, [inquiry_id]).get(inquiry_id)
    if inquiry is None or not _visible(actor, inquiry):
        raise NotFound("找不到该询保申请")
    if inquiry.status != Status.submitted:
        raise Conflict(f"询保申请 {inquiry.serial} 已完成，不能再分配")
    assignee = None
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or not assignee.is_active or assignee.role not in STAFF_ROLES:
            raise FormInvalid({"assignee_id": "负责人必须是在职的业务人员或管理人员"})
    now = utcnow()
    inquiry.assignee_id = assignee_id
    inquiry.version += 1
    inquiry.updated_at = now
    session.add(inquiry)
    session.flush()
    note = f"负责人：{assignee.label}" if assignee else "取消分配"
    _event(
        session,
        inquiry,
        actor=actor,
        action=Action.assigned,
        at=now,
        from_status=inquiry.status,
        to_status=inquiry.status,
        note=note,
    )
    return inquiry


def add_note(session: Session, *, actor: User, inquiry_id: int, text: str) -> InquiryEvent:
    """Append a staff note to the audit trail (the inquiry itself does not change)."""
    actor = accounts.require_role(session, actor, *STAFF_ROLES, write=True)
    text = _checked_note(text, "备注内容")
    if not text:
        raise FormInvalid({"note": "请填写备注内容"})
    inquiry = get(session, actor=actor, inquiry_id=inquiry_id)
    event = _event(
        session,
        inquiry,
        actor=actor,
        action=Action.noted,
        at=utcnow(),
        from_status=inquiry.status,
        to_status=inquiry.status,
        note=text,
    )
    session.flush()
    return event


def complete(
    session: Session,
    *,
    actor: User,
    inquiry_ids: Sequence[int],
    note: str = "",
    expected_versions: dict[int, int] | None = None,
) -> list[Inquiry]:
    """Mark submitted inquiries 已完成, all or none.

    Raises Conflict, naming the serials, when any of them is already completed or — given
    ``expected_versions`` (id → version the user saw) — was changed in the meantime.
    """
    actor = accounts.require_role(session, actor, *STAFF_ROLES, write=True)
    ids = list(dict.fromkeys(int(i) for i in inquiry_ids))
    if not ids:
        raise FormInvalid({"inquiry_ids": "请先选择要标记为已完成的询保申请"})
    note = _checked_note(note, "完成备注")
    rows = _load_for_update(session, ids)
    missing = [i for i in ids if i not in rows or not _visible(actor, rows[i])]
    if missing:
        raise NotFound("找不到所选的询保申请")
    done = [rows[i].serial for i in ids if rows[i].status == Status.completed]
    if done:
        raise Conflict(f"询保申请 {'、'.join(done[:5])} 已被他人标记为已完成，请刷新后查看")
    if expected_versions:
        stale = [
            rows[i].serial
            for i in ids
            if i in expected_versions and rows[i].version != expected_versions[i]
        ]
        if stale:
            raise Conflict(f"询保申请 {'、'.join(stale[:5])} 已被他人修改，请刷新后再操作")
    now = utcnow()
    # One UPDATE for the whole selection (a statement-level trigger sees one statement per call)
    # and one INSERT … SELECT writing all the audit events (in id order), instead of a flush per
    # inquiry; both statements are built once, whatever the number of rows. The rows are locked
    # and checked above; the status guard in the WHERE is a second line of defence.
    versions = dict(session.execute(_COMPLETE, {"ids": ids, "now": now}).all())
    if len(versions) != len(ids):
        changed = [rows[i].serial for i in ids if i not in versions]
        raise Conflict(f"询保申请 {'、'.join(changed[:5])} 已被他人修改，请刷新后再操作")
    session.execute(_COMPLETE_EVENTS, {"ids": ids, "now": now, "actor_id": actor.id, "note": note})
    # The loaded objects take the new state as if it had been loaded (no further SELECT; the
    # values are what the UPDATE wrote, the versions what it returned).
    for i in ids:
        inquiry = rows[i]
        for key, value in (
            ("status", Status.completed.value),
            ("completed_at", now),
            ("updated_at", now),
            ("version", versions[i]),
        ):
            set_committed_value(inquiry, key, value)
    return [rows[i] for i in ids]


def events(session: Session, *, actor: User, inquiry_id: int) -> list[tuple[InquiryEvent, str]]:
    """The audit trail of one inquiry, oldest first, with each actor's display name.

    Internal: staff and managers only (it holds staff notes and assignments).
    """
    actor = accounts.require_role(session, actor, *STAFF_ROLES)
    # The copy in the session when the page has just loaded it (``get``), so no second SELECT;
    # visibility only ever widens for staff (a draft becomes submitted), so it cannot be stale
    # in a way that shows too much.
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None or not _visible(actor, inquiry):
        raise NotFound("找不到该询保申请")
    rows = session.exec(_EVENTS, params={"inquiry_id": inquiry.id}).all()
    return [(event, user.label if user else "") for event, user in rows]
