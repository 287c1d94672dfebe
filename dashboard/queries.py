"""Listing inquiries: ``InquiryFilter`` → one parameterised SQL query; one page + the total count.

Visibility is applied here too, from the actor: an enterprise user lists only its own inquiries,
staff and managers never list drafts, other roles list nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard.errors import NotAllowed
from dashboard.inquiries import SHANGHAI, STAFF_ROLES
from models import Inquiry, Role, Status, User

PAGE_SIZES = (20, 50, 100)
SORTS = {
    "-submitted_at": (sa.desc(Inquiry.submitted_at), sa.desc(Inquiry.id)),
    "submitted_at": (sa.asc(Inquiry.submitted_at), sa.asc(Inquiry.id)),
    "-serial": (sa.desc(Inquiry.serial),),
    "serial": (sa.asc(Inquiry.serial),),
    "-created_at": (sa.desc(Inquiry.created_at), sa.desc(Inquiry.id)),
}


@dataclass(frozen=True)
class InquiryFilter:
    """What the user filters by. Frozen and hashable, so views can cache on it."""

    statuses: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    province_code: str | None = None
    city_code: str | None = None
    submitted_from: date | None = None  # inclusive, Asia/Shanghai calendar day
    submitted_to: date | None = None  # inclusive
    search: str = ""


@dataclass
class Page:
    rows: list[Inquiry]
    total: int
    page: int
    page_size: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def day_start_utc(day: date) -> datetime:
    """The UTC instant at which an Asia/Shanghai calendar day begins."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def conditions(flt: InquiryFilter, *, actor: User) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions for ``flt`` as ``actor`` may see it."""
    conds: list[sa.ColumnElement[bool]] = []
    if actor.role == Role.enterprise:
        conds.append(Inquiry.owner_id == actor.id)
    elif actor.role in STAFF_ROLES:
        conds.append(Inquiry.status != Status.draft.value)
    else:
        raise NotAllowed("您没有查看询保申请的权限")
    if flt.statuses:
        conds.append(Inquiry.status.in_(flt.statuses))
    if flt.intents:
        conds.append(Inquiry.intent.in_(flt.intents))
    if flt.province_code:
        conds.append(Inquiry.province_code == flt.province_code)
    if flt.city_code:
        conds.append(Inquiry.city_code == flt.city_code)
    if flt.submitted_from:
        conds.append(Inquiry.submitted_at >= day_start_utc(flt.submitted_from))
    if flt.submitted_to:
        conds.append(Inquiry.submitted_at < day_start_utc(flt.submitted_to + timedelta(days=1)))
    term = flt.search.strip()
    if term:
        conds.append(
            sa.or_(
                Inquiry.serial == term,
                Inquiry.company_name.contains(term, autoescape=True),
                Inquiry.contact_name.contains(term, autoescape=True),
                Inquiry.mobile.contains(term, autoescape=True),
                Inquiry.landline.contains(term, autoescape=True),
                Inquiry.email.contains(term, autoescape=True),
            )
        )
    return conds


def list_page(
    session: Session,
    flt: InquiryFilter,
    *,
    actor: User,
    page: int = 1,
    page_size: int = 50,
    sort: str = "-submitted_at",
) -> Page:
    """One page of matching inquiries and the total number of matches."""
    conds = conditions(flt, actor=actor)
    page_size = page_size if page_size in PAGE_SIZES else 50
    order = SORTS.get(sort, SORTS["-submitted_at"])
    total = session.exec(select(sa.func.count()).select_from(Inquiry).where(*conds)).one()
    last_page = max(1, -(-total // page_size))
    page = min(max(1, page), last_page)
    rows = session.exec(
        select(Inquiry)
        .where(*conds)
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(rows=list(rows), total=total, page=page, page_size=page_size)
