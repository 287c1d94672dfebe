"""The outbox as administrators see it (邮件发送记录): mail by state, kind and text; retry; who
hears of new inquiries. Administrators only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

import models
from dashboard import accounts
from dashboard.errors import Conflict, NotAllowed, NotFound
from dashboard.notify import STAFF_ROLES
from models import (
    Inquiry,
    Notification,
    NotificationState,
    Role,
    User,
    utcnow,
)

log = logging.getLogger("dashboard.outbox")

_N = Notification.__table__


@dataclass(frozen=True)
class OutboxEntry:
    """One mail as the outbox page lists it: what it is about, to whom, how it went (its
    attachment by name only)."""

    id: int
    kind: str
    serial: str | None  # the inquiry's 询保流水号, None for the report
    recipient: str
    subject: str
    attachment_name: str | None
    state: str
    tries: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


#: The columns of an ``OutboxEntry`` that the ``notification`` row holds (``serial`` is the
#: inquiry's).
_ENTRY_COLUMNS = tuple(f for f in OutboxEntry.__dataclass_fields__ if f != "serial")


def _outbox_conditions(kind: str | None, search: str) -> list:
    conds = []
    if kind:
        conds.append(Notification.kind == kind)
    term = models.visible_text(search).strip().lower()
    if term:
        conds.append(
            sa.or_(
                *(
                    sa.func.lower(column).contains(term, autoescape=True)
                    for column in (Notification.recipient, Notification.subject, Inquiry.serial)
                )
            )
        )
    return conds


def outbox(
    session: Session,
    *,
    actor: User,
    state: str | None = None,
    kind: str | None = None,
    search: str = "",
    limit: int = 200,
) -> list[OutboxEntry]:
    """The outbox, newest first (administrators only): optionally only one ``state`` (pending /
    sent / failed), one ``kind``, and rows whose recipient, subject or 询保流水号 contains
    ``search``; at most ``limit`` rows."""
    accounts.require_admin(session, actor)
    conds = _outbox_conditions(kind, search)
    if state:
        conds.append(Notification.state == state)
    rows = session.execute(
        # Only the columns listed: never the attachments (a report file each).
        sa.select(*(_N.c[name] for name in _ENTRY_COLUMNS), Inquiry.serial)
        .join(Inquiry, Inquiry.id == Notification.inquiry_id, isouter=True)
        .where(*conds)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()
    return [OutboxEntry(**row._mapping) for row in rows]


def outbox_counts(
    session: Session, *, actor: User, kind: str | None = None, search: str = ""
) -> dict[str, int]:
    """How many rows of each state (pending, sent, failed) match ``kind`` and ``search``."""
    accounts.require_admin(session, actor)
    rows = session.exec(
        select(Notification.state, sa.func.count())
        .select_from(Notification)
        .join(Inquiry, Inquiry.id == Notification.inquiry_id, isouter=True)
        .where(*_outbox_conditions(kind, search))
        .group_by(Notification.state)
    ).all()
    counts = dict.fromkeys((s.value for s in NotificationState), 0)
    counts.update({state: int(n) for state, n in rows})
    return counts


def retry(session: Session, *, actor: User, notification_id: int) -> Notification:
    """Send a failed mail again (administrators only): it becomes 待发送 at once, with its
    attempts counted afresh; its last error stays until the next attempt. Conflict unless it is
    发送失败 (someone else may have retried it already)."""
    accounts.require_admin(session, actor, write=True)
    row = session.get(Notification, notification_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound("找不到该邮件")
    if row.state != NotificationState.failed:
        raise Conflict("该邮件不是发送失败状态，无需重试，请刷新后查看")
    row.state = NotificationState.pending.value
    row.tries = 0
    row.next_attempt_at = utcnow()
    row.claimed_until = None
    session.add(row)
    session.flush()
    return row


def mail_staff(session: Session, *, actor: User) -> list[User]:
    """Active staff and managers, for choosing who gets mail about new unrouted inquiries
    (administrators only)."""
    accounts.require_admin(session, actor)
    return list(
        session.exec(
            select(User)
            .where(User.role.in_(STAFF_ROLES), User.is_active)
            .order_by(User.username)
            .execution_options(populate_existing=True)
        )
    )


def set_new_inquiry_mail(session: Session, *, actor: User, user_id: int, enabled: bool) -> User:
    """Whether a staff member or manager gets an e-mail about every new inquiry nobody is
    responsible for. An administrator sets it for anyone of them; staff and managers for
    themselves."""
    actor = accounts.require_role(session, actor, Role.admin.value, *STAFF_ROLES, write=True)
    if actor.role != Role.admin and actor.id != user_id:
        raise NotAllowed(accounts.NOT_ALLOWED)
    user = accounts._target(session, user_id)
    if user.role not in STAFF_ROLES:
        raise NotFound("找不到该业务人员")
    user.notify_new_inquiries = bool(enabled)
    session.add(user)
    session.flush()
    return user
