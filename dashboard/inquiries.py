"""The inquiry lifecycle: draft → submitted → completed, with authorization and an audit trail.

Every rule lives here, not in the views, so any front end calling these functions is as safe as
the app: enterprise users see and edit only their own inquiries and only while they are drafts;
staff and managers never see drafts; submitted and completed inquiries are read-only except for
the transitions below. Every transition writes one ``InquiryEvent``. Reading one inquiry (``get``,
``detail``, ``events``, ``progress``) lives in ``dashboard.inquiry_reads``, serials in
``dashboard.serials``; both are re-exported here.

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

from dashboard import accounts, notify, retention, routing
from dashboard.accounts import STAFF_ROLES
from dashboard.clock import SHANGHAI
from dashboard.errors import Conflict, FormInvalid, NotAllowed, NotFound
from dashboard.inquiry_reads import (  # noqa: F401  (part of this module's interface)
    NOT_FOUND,
    Progress,
    detail,
    events,
    get,
    progress,
    seen,
    visible,
)
from dashboard.serials import allocate_serials
from models import (
    Action,
    Inquiry,
    InquiryEvent,
    InquiryForm,
    Role,
    Status,
    User,
    clean_text,
    length_problem,
    text_problem,
    utcnow,
)

MAX_NOTE_LENGTH = 2000
#: The note of a completion: the reply to the company (DESIGN.md). 备注 (``add_note``) stay
#: internal.
REPLY_LABEL = "处理意见"


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
    note: str = "",
    changed: bool = True,
) -> InquiryEvent:
    """Append the audit event of ``action`` on ``inquiry`` by ``actor`` at ``at``: from
    ``from_status`` to the status the inquiry has now. ``changed``: ``actor`` changed the
    inquiry, which is written first (a stored row gets a new version; ``updated_at`` is ``at``).
    """
    if changed:
        if inquiry.id is not None:
            inquiry.version += 1
        inquiry.updated_at = at
        session.add(inquiry)
        session.flush()
    event = InquiryEvent(
        inquiry_id=inquiry.id,
        actor_id=actor.id,
        at=at,
        action=action.value,
        from_status=from_status,
        to_status=inquiry.status,
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


def _own_draft(
    session: Session,
    actor: User,
    inquiry_id: int,
    expected_version: int | None,
    *,
    refused: str,
    redo: str,
) -> Inquiry:
    """The actor's draft ``inquiry_id``, locked. NotFound when it is not theirs, NotAllowed
    (``refused``) when it was submitted meanwhile, Conflict when ``expected_version`` is stale
    (the company opens it again and then does ``redo``)."""
    inquiry = _load_for_update(session, [inquiry_id]).get(inquiry_id)
    if inquiry is None or inquiry.owner_id != actor.id:
        raise NotFound(NOT_FOUND)
    if inquiry.status != Status.draft:
        raise NotAllowed(f"询保申请 {inquiry.serial} 已提交，{refused}")
    if expected_version is not None and inquiry.version != expected_version:
        raise Conflict(f"询保申请 {inquiry.serial} 已在别处被修改，请重新打开后再{redo}")
    return inquiry


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
    now: datetime,
    actor: User,
    form: InquiryForm,
    inquiry_id: int | None,
    expected_version: int | None,
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
        _event(session, inquiry, actor=actor, action=Action.created, at=now, from_status=None)
        return inquiry
    inquiry = _own_draft(
        session, actor, inquiry_id, expected_version, refused="不能再修改", redo="保存"
    )
    for key, value in values.items():
        setattr(inquiry, key, value)
    draft = Status.draft.value
    _event(session, inquiry, actor=actor, action=Action.saved, at=now, from_status=draft)
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
    inquiry = _write_draft(session, utcnow(), actor, form, inquiry_id, expected_version)
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
    """Save and submit in one step: the inquiry becomes 已提交 with ``submitted_at`` set, and
    goes to a team member when a routing rule matches it (``routing.route``)."""
    now = utcnow()
    inquiry = _write_draft(session, now, actor, form, inquiry_id, expected_version)
    inquiry.status = Status.submitted.value
    inquiry.submitted_at = now
    draft = Status.draft.value
    _event(session, inquiry, actor=actor, action=Action.submitted, at=now, from_status=draft)
    # Routed first: the mail about the new inquiry goes to the assignee a rule chose, if any.
    routing.route(session, actor=actor, inquiry=inquiry, now=now)
    notify.inquiry_submitted(session, inquiry=inquiry)
    return inquiry


def delete_draft(
    session: Session, *, actor: User, inquiry_id: int, expected_version: int | None = None
) -> str:
    """The company deletes one of its own drafts (删除), with its events; returns its serial.
    Submitted inquiries are never deleted this way. Raises NotFound (not the actor's draft),
    NotAllowed (submitted meanwhile), Conflict (``expected_version`` is stale)."""
    actor = accounts.require_role(session, actor, Role.enterprise.value, write=True)
    inquiry = _own_draft(
        session, actor, inquiry_id, expected_version, refused="不能删除", redo="删除"
    )
    retention.delete_draft(session, actor=actor, inquiry=inquiry)
    return inquiry.serial


def assign(session: Session, *, actor: User, inquiry_id: int, assignee_id: int | None) -> Inquiry:
    """Make ``assignee_id`` (an active staff member or manager) responsible; None unassigns.

    Only submitted inquiries can be (re)assigned; completed ones are read-only.
    """
    actor = accounts.require_role(session, actor, *STAFF_ROLES, write=True)
    inquiry = seen(actor, _load_for_update(session, [inquiry_id]).get(inquiry_id))
    if inquiry.status != Status.submitted:
        raise Conflict(f"询保申请 {inquiry.serial} 已完成，不能再分配")
    assignee = None
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or not assignee.is_active or assignee.role not in STAFF_ROLES:
            raise FormInvalid({"assignee_id": "负责人必须是在职的业务人员或管理人员"})
    now = utcnow()
    previous_assignee_id = inquiry.assignee_id
    inquiry.assignee_id = assignee_id
    note = f"负责人：{assignee.label}" if assignee else "取消分配"
    status = inquiry.status
    _event(
        session, inquiry, actor=actor, action=Action.assigned, at=now, from_status=status, note=note
    )
    if assignee is not None:  # routing's tie-break: who waited longest since an assignment
        routing.assigned(session, user_id=assignee.id, at=now)
    notify.inquiry_assigned(
        session,
        inquiry=inquiry,
        assignee=assignee,
        actor=actor,
        previous_assignee_id=previous_assignee_id,
    )
    return inquiry


def add_note(session: Session, *, actor: User, inquiry_id: int, text: str) -> InquiryEvent:
    """Append a staff note to the audit trail (the inquiry itself does not change)."""
    actor = accounts.require_role(session, actor, *STAFF_ROLES, write=True)
    text = _checked_note(text, "备注内容")
    if not text:
        raise FormInvalid({"note": "请填写备注内容"})
    inquiry = get(session, actor=actor, inquiry_id=inquiry_id)
    # ``get`` gave staff a masked copy: the event is written, the inquiry itself never.
    event = _event(
        session,
        inquiry,
        actor=actor,
        action=Action.noted,
        at=utcnow(),
        from_status=inquiry.status,
        note=text,
        changed=False,
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
    """Mark submitted inquiries 已完成, all or none, with ``note``, the 处理意见: the reply the
    company reads on its inquiry and in the completion mail (``REPLY_LABEL``).

    Completing one inquiry needs a 处理意见 (FormInvalid naming it otherwise); a selection shares
    one, which may be left empty (a batch of duplicates or test entries has nothing to say).
    Raises Conflict, naming the serials, when any of them is already completed or — given
    ``expected_versions`` (id → version the user saw) — was changed in the meantime; that is
    said before a missing 处理意见, which typing one would not cure.
    """
    actor = accounts.require_role(session, actor, *STAFF_ROLES, write=True)
    ids = list(dict.fromkeys(int(i) for i in inquiry_ids))
    if not ids:
        raise FormInvalid({"inquiry_ids": "请先选择要标记为已完成的询保申请"})
    note = _checked_note(note, REPLY_LABEL)
    rows = _load_for_update(session, ids)
    missing = [i for i in ids if i not in rows or not visible(actor, rows[i])]
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
    if len(ids) == 1 and not note:
        raise FormInvalid({"note": f"请填写{REPLY_LABEL}（将发送给企业，并显示在其询保申请中）"})
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
    # The mail to each company commits or rolls back with the completion itself (the outbox).
    notify.inquiries_completed(session, inquiries=[rows[i] for i in ids], note=note)
    return [rows[i] for i in ids]
