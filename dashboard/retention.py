"""Personal data removed (个人信息删除): the retention purge, a company's request for the deletion
of its data, a deleted draft. Each is logged in the access log with its counts.

**Retention** (``purge``, ``python -m dashboard purge --dry-run|--apply``): with
``DASHBOARD_RETENTION_DAYS`` set, completed inquiries completed longer ago than that get their
contact fields anonymised and drafts untouched for that long are deleted with their events. Each is
one set-based statement, whatever the number of rows. Anonymising keeps company, region, intent,
status and dates, which are all the report rollup counts by (``rollup.watched``), so every report
number stays the same; drafts are never counted.

**On request** (``anonymise_company``): an administrator anonymises every submitted inquiry of an
enterprise account and deletes its drafts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard import accounts, dialect
from dashboard.access_log import record
from dashboard.accounts import Administrator
from dashboard.errors import NotAllowed, NotFound
from dashboard.settings import get_settings
from models import (
    AccessAction,
    Inquiry,
    InquiryEvent,
    Notification,
    NotificationKind,
    NotificationState,
    Role,
    Status,
    User,
    utcnow,
)

#: What an anonymised inquiry's 联系人 reads; its numbers and e-mail become empty.
ANONYMISED_NAME = "（已匿名化）"

#: The administrator check of every function here: the console operator may run the purge.
_require_admin = functools.partial(accounts.require_admin, console=True)


_T = Inquiry.__table__
_E = InquiryEvent.__table__
_N = Notification.__table__


def _anonymise(session: Session, condition: sa.ColumnElement, now: datetime) -> int:
    """Anonymise the contact fields of the inquiries matching ``condition`` (one UPDATE): the
    columns no rollup table counts by, so the rollup's update trigger adds nothing; a completion
    mail of theirs that has gone out keeps no copy of the name or address either."""
    targets = sa.select(_T.c.id).where(condition)
    session.execute(
        sa.update(_N)
        .where(
            _N.c.inquiry_id.in_(targets),
            _N.c.kind == NotificationKind.completed.value,
            _N.c.state != NotificationState.pending.value,
        )
        .values(recipient=ANONYMISED_NAME, body="", body_html="")
    )
    result = session.execute(
        sa.update(_T)
        .where(condition)
        .values(contact_name=ANONYMISED_NAME, mobile="", landline="", email="", anonymised_at=now)
    )
    return result.rowcount


def _delete_drafts(session: Session, condition: sa.ColumnElement) -> tuple[int, int]:
    """Delete the drafts matching ``condition`` and their events: (drafts, events). The drafts
    are locked first (PostgreSQL; SQLite's write scope holds the lock already), so a save that
    arrives meanwhile waits and then finds its draft gone, instead of adding an event to a row
    about to be deleted."""
    condition = sa.and_(_T.c.status == Status.draft.value, condition)
    if dialect.name(session) == dialect.POSTGRESQL:
        session.execute(sa.select(_T.c.id).where(condition).with_for_update()).all()
    events = session.execute(
        sa.delete(_E).where(_E.c.inquiry_id.in_(sa.select(_T.c.id).where(condition)))
    ).rowcount
    drafts = session.execute(sa.delete(_T).where(condition)).rowcount
    return drafts, events


def delete_draft(session: Session, *, actor: User, inquiry: Inquiry) -> None:
    """Delete one draft and its events, logged (``inquiries.delete_draft`` checks the rights,
    the owner and the state, and holds the row locked)."""
    _delete_drafts(session, _T.c.id == inquiry.id)
    session.expunge(inquiry)
    record(session, actor=actor, action=AccessAction.draft_deleted, inquiry=inquiry, row_count=1)


def _count(session: Session, condition: sa.ColumnElement) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(_T).where(condition)).scalar_one()


@dataclass(frozen=True)
class Removal:
    """What an anonymisation or a purge did (``applied``) or would do."""

    anonymised: int
    drafts: int
    applied: bool
    #: Purge only: the retention and the instant before which data counts as old.
    days: int | None = None
    cutoff: datetime | None = None


def company_accounts(session: Session, *, actor: Administrator) -> list[User]:
    """Enterprise accounts (for the administrator's choice of whose inquiries to anonymise)."""
    _require_admin(session, actor)
    return list(
        session.exec(
            select(User).where(User.role == Role.enterprise.value).order_by(User.company_name)
        )
    )


def anonymise_company(
    session: Session, *, actor: Administrator, owner_id: int, apply: bool, now=None
) -> Removal:
    """A company's request (删除个人信息): anonymise the contact fields of every inquiry of the
    enterprise account ``owner_id`` that was submitted, delete its drafts; logged with the
    counts. ``apply=False`` only counts (the administrator sees what will happen first). The
    inquiries stay in the reports: only their contact fields change."""
    actor = _require_admin(session, actor, write=apply)
    owner = session.get(User, owner_id)
    if owner is None or owner.role != Role.enterprise:
        raise NotFound("找不到该企业账号")
    own = _T.c.owner_id == owner_id
    submitted = sa.and_(own, _T.c.status != Status.draft.value, _T.c.anonymised_at.is_(None))
    drafts = sa.and_(own, _T.c.status == Status.draft.value)
    if not apply:
        return Removal(_count(session, submitted), _count(session, drafts), applied=False)
    anonymised = _anonymise(session, submitted, now or utcnow())
    deleted, _ = _delete_drafts(session, own)
    company = owner.company_name or owner.username
    record(
        session,
        actor=actor,
        action=AccessAction.anonymised,
        filter={"owner": owner.username},
        row_count=anonymised + deleted,
        detail=f"应 {company} 的要求：匿名化 {anonymised} 条询保申请，删除 {deleted} 条暂存",
    )
    return Removal(anonymised, deleted, applied=True)


def purge(
    session: Session,
    *,
    actor: Administrator,
    apply: bool,
    days: int | None = None,
    now: datetime | None = None,
) -> Removal:
    """The retention purge: completed inquiries completed more than ``days`` (default
    ``DASHBOARD_RETENTION_DAYS``) ago get their contact fields anonymised; drafts not saved for
    that long are deleted with their events. ``apply=False`` counts only. An applied purge is
    logged with its counts (also when it found nothing: the log shows that it ran).

    Set-based: one UPDATE and two DELETEs, however many rows (at a million inquiries the UPDATE
    on PostgreSQL also runs the rollup's statement trigger once, which nets to nothing)."""
    actor = _require_admin(session, actor, write=apply)
    days = get_settings().retention_days if days is None else days
    if days <= 0:
        raise NotAllowed("未设置个人信息保留期限（DASHBOARD_RETENTION_DAYS），不清理任何数据")
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    old = sa.and_(
        _T.c.status == Status.completed.value,
        _T.c.completed_at < cutoff,
        _T.c.anonymised_at.is_(None),
    )
    stale = sa.and_(_T.c.status == Status.draft.value, _T.c.updated_at < cutoff)
    if not apply:
        return Removal(_count(session, old), _count(session, stale), False, days, cutoff)
    anonymised = _anonymise(session, old, now)
    drafts, events = _delete_drafts(session, stale)
    record(
        session,
        actor=actor,
        action=AccessAction.purged,
        filter={"retention_days": days, "cutoff": cutoff.isoformat(timespec="seconds")},
        row_count=anonymised + drafts,
        detail=(
            f"保留 {days} 天：匿名化 {anonymised} 条已完成的询保申请，"
            f"删除 {drafts} 条暂存（{events} 条处理记录）"
        ),
    )
    return Removal(anonymised, drafts, True, days, cutoff)
