"""Reading one inquiry, as the actor may see it: ``get`` (the inquiry), ``detail`` (its detail
panel, contact data full only for the one who handles it), ``events`` (the audit trail, staff
only) and ``progress`` (how far it has come, as its company sees it).

Who sees which inquiry (``visible``): the owning company its own, drafts included; staff and
managers every submitted or completed one, never a draft; nobody else any. For anything else
the answer is NotFound, so existence is not revealed. ``dashboard.inquiries`` re-exports these
functions (DESIGN.md names them ``inquiries.get`` …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard import accounts, privacy
from dashboard.accounts import STAFF_ROLES
from dashboard.errors import NotFound
from dashboard.settings import get_settings
from models import Action, Inquiry, InquiryEvent, Role, Status, User

NOT_FOUND = "找不到该询保申请"

# Statements the pages run on every click, built once (building one costs more than running
# it: see ``queries.Where``); each call binds its own values.
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
_LAST_EVENT = (
    select(InquiryEvent)
    .where(
        InquiryEvent.inquiry_id == sa.bindparam("inquiry_id"),
        InquiryEvent.action == sa.bindparam("action"),
    )
    .order_by(InquiryEvent.at.desc(), InquiryEvent.id.desc())
    .limit(1)
)


def visible(actor: User, inquiry: Inquiry) -> bool:
    """Whether ``actor`` (as re-read by the caller) may see ``inquiry`` at all."""
    if actor.role == Role.enterprise:
        return inquiry.owner_id == actor.id
    if actor.role in STAFF_ROLES:
        return inquiry.status != Status.draft
    return False


def seen(actor: User, inquiry: Inquiry | None) -> Inquiry:
    """``inquiry`` when it exists and ``actor`` may see it; NotFound otherwise."""
    if inquiry is None or not visible(actor, inquiry):
        raise NotFound(NOT_FOUND)
    return inquiry


def get(session: Session, *, actor: User, inquiry_id: int) -> Inquiry:
    """One inquiry the actor may see; NotFound for anything else (existence is not revealed).

    The owning company gets it as stored; staff and managers get its contact data masked (a
    detached copy, ``privacy.masked_copy``): the full values come only from ``detail``, which
    logs the view.
    """
    actor = accounts.require_role(session, actor, Role.enterprise.value, *STAFF_ROLES)
    inquiry = seen(actor, session.exec(_GET, params={"id": inquiry_id}).first())
    # The session's identity map holds rows weakly, and staff get a copy: keep the stored row
    # alive for this session, so that ``events`` right after finds it without a second SELECT.
    session.info.setdefault("inquiries_read", []).append(inquiry)
    return privacy.listed(actor, [inquiry])[0]


def detail(session: Session, *, actor: User, inquiry_id: int) -> privacy.Detail:
    """One inquiry for its detail panel. Its contact data is full for the owning company, and
    for the staff member who handles it (``privacy.sees_contacts``), whose view is written to
    the access log in this transaction before the data is returned (a log that cannot be
    written fails the read: nothing is shown unlogged); masked for anyone else, with the reason.
    Call it in a write scope. NotFound for an inquiry the actor may not see."""
    actor = accounts.require_role(session, actor, Role.enterprise.value, *STAFF_ROLES, write=True)
    inquiry = seen(actor, session.exec(_GET, params={"id": inquiry_id}).first())
    return privacy.disclose(session, actor=actor, inquiry=inquiry)


def events(session: Session, *, actor: User, inquiry_id: int) -> list[tuple[InquiryEvent, str]]:
    """The audit trail of one inquiry, oldest first, with each actor's display name.

    Internal: staff and managers only (it holds staff notes and assignments).
    """
    actor = accounts.require_role(session, actor, *STAFF_ROLES)
    # The copy in the session when the page has just loaded it (``get``), so no second SELECT;
    # visibility only ever widens for staff (a draft becomes submitted), so it cannot be stale
    # in a way that shows too much.
    inquiry = seen(actor, session.get(Inquiry, inquiry_id))
    rows = session.exec(_EVENTS, params={"inquiry_id": inquiry.id}).all()
    return [(event, user.label if user else "") for event, user in rows]


@dataclass(frozen=True)
class Progress:
    """How far an inquiry has come, as its company may see it: times, the 处理意见, and who took
    it only when the insurer names its staff (``settings.show_staff_names``). Never the audit
    trail itself, which holds internal 备注."""

    status: str
    submitted_at: datetime | None
    #: When the inquiry was last given to the person now responsible (by a rule, a colleague
    #: or a claim); None while nobody is.
    taken_at: datetime | None
    #: That person's name, or None (nobody yet, or staff names are not shown).
    taken_by: str | None
    completed_at: datetime | None
    #: The 处理意见 of the completion; "" when none was given (or not completed).
    reply: str


def progress(session: Session, *, actor: User, inquiry_id: int) -> Progress:
    """The progress of an inquiry the actor may see (the owning company; staff alike): submitted,
    taken, completed, and the 处理意见. NotFound for anything else."""
    inquiry = get(session, actor=actor, inquiry_id=inquiry_id)

    def last(action: Action) -> InquiryEvent | None:
        params = {"inquiry_id": inquiry.id, "action": action.value}
        return session.exec(_LAST_EVENT, params=params).first()

    taken_at = taken_by = None
    if inquiry.assignee_id is not None:
        given = last(Action.assigned)
        taken_at = given.at if given else None
        if get_settings().show_staff_names:
            assignee = session.get(User, inquiry.assignee_id)
            taken_by = assignee.label if assignee else None
    completion = last(Action.completed) if inquiry.status == Status.completed else None
    return Progress(
        status=inquiry.status,
        submitted_at=inquiry.submitted_at,
        taken_at=taken_at,
        taken_by=taken_by,
        completed_at=inquiry.completed_at,
        reply=completion.note if completion else "",
    )
