"""Personal data as the law expects it (个人信息保护): the minimum necessary shown, every full view
and export logged, a retention period, deletion and anonymisation.

**Masking.** Lists, possible duplicates and exports show mobile ``138****5678``, fixed line
``0755-****5678`` and e-mail ``z***@example.com`` (``mask_*``). The domain decides, from the
actor, whether a row carries the full or the masked values (``listed``, ``disclose``,
``export_masked``); a page only shows what it is given. A masked row is a detached copy of the
inquiry (``masked_copy``): it is in no session, so nothing ever writes it back.

**Who sees what.** A company always sees its own inquiries in full (they are its own data, and
reading them is not logged). Staff and managers see masked values in lists; on the detail of an
inquiry, the full values go to the one who handles it: its assignee, or, while nobody does, any
staff member (``sees_contacts``). A manager who is not the assignee sees them masked: managers
supervise, and claiming the inquiry (认领) makes them the one who handles it. Exports are masked
unless the actor asks for contacts (导出含联系方式) and an administrator granted that to the
account (``User.may_export_contacts``). Report pages are aggregates and never carry contact data.

The rest lives next door, and this module re-exports it: **the access log** (every full view and
export with contacts, written before the data is returned) in ``dashboard.access_log``;
**retention** (the purge, anonymisation on a company's request, deleted drafts) in
``dashboard.retention``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import instrumentation
from sqlmodel import Session

from dashboard import accounts
from dashboard.access_log import (  # noqa: F401  (part of this module's interface)
    LOG_HEADERS,
    AccessLogEntry,
    AccessLogFilter,
    access_log,
    access_log_csv,
    count_access_log,
    record,
    write_access_log_csv,
)
from dashboard.accounts import STAFF_ROLES, Administrator
from dashboard.errors import FormInvalid, NotAllowed
from dashboard.retention import (  # noqa: F401  (part of this module's interface)
    ANONYMISED_NAME,
    Removal,
    anonymise_company,
    company_accounts,
    delete_draft,
    purge,
)
from models import AccessAction, AccountAction, DataAccessLog, Inquiry, Role, User

MASK = "****"

# --------------------------------------------------------------------------------------------
# Masks


def mask_mobile(value: str | None) -> str:
    """``13812345678`` → ``138****5678``; '' for none. Anything shorter than a mobile number
    keeps only its last two characters."""
    text = value or ""
    if len(text) >= 8:
        return text[:3] + MASK + text[-4:]
    return MASK + text[-2:] if text else ""


def mask_landline(value: str | None) -> str:
    """``0755-12345678`` (or with an extension) → ``0755-****5678``: the area code and the last
    four digits of the number, enough to recognise it on the phone; '' for none."""
    text = value or ""
    if not text:
        return ""
    area, _, rest = text.partition("-")
    number = rest.partition("-")[0]
    if area and len(number) >= 6:
        return f"{area}-{MASK}{number[-4:]}"
    return MASK + text[-2:]


def mask_email(value: str | None) -> str:
    """``zhangsan@example.com`` → ``z***@example.com``; '' for none."""
    text = value or ""
    local, at, domain = text.rpartition("@")
    if not at:
        return "***" if text else ""
    return f"{local[:1]}***@{domain}"


#: The masked columns of an inquiry and their masks (联系人 stays: staff need the name to
#: recognise a caller, and it alone reaches nobody).
MASKS: dict[str, Callable[[str | None], str]] = {
    "mobile": mask_mobile,
    "landline": mask_landline,
    "email": mask_email,
}
_COLUMNS = tuple(Inquiry.model_fields)
_INQUIRY_CLASS = instrumentation.manager_of_class(Inquiry)


def masked_copy(inquiry: Inquiry) -> Inquiry:
    """A detached copy of ``inquiry`` with its contact numbers and e-mail masked. It belongs to
    no session, so it is never flushed back over the real values."""
    values = {name: getattr(inquiry, name) for name in _COLUMNS}
    values.update((name, mask(values[name])) for name, mask in MASKS.items())
    # Without validation: the values are a stored row's. Validating them again took most of the
    # Python time of a list page (about 0.1 ms a row, three times this). ``model_construct`` makes
    # no ORM state; with it the copy is an ordinary transient instance.
    copy = Inquiry.model_construct(**values)
    _INQUIRY_CLASS.setup_instance(copy)
    return copy


# --------------------------------------------------------------------------------------------
# Who sees what


def sees_contacts(actor: User, inquiry: Inquiry) -> bool:
    """Whether ``actor`` (as re-read by the caller) sees ``inquiry``'s contact data in full on its
    detail: the owning company; the assignee; any staff member while nobody is assigned."""
    if actor.role == Role.enterprise:
        return inquiry.owner_id == actor.id
    if actor.role not in STAFF_ROLES:
        return False
    if inquiry.assignee_id is None:
        return actor.role == Role.staff
    return inquiry.assignee_id == actor.id


def listed(actor: User, rows: Iterable[Inquiry]) -> list[Inquiry]:
    """``rows`` as ``actor`` sees them in a list: a company its own as they are, everyone else
    masked (a list is for finding an inquiry, not for calling it)."""
    if actor.role == Role.enterprise:
        return list(rows)
    return [masked_copy(row) for row in rows]


@dataclass(frozen=True)
class Detail:
    """One inquiry as its detail panel shows it to the actor."""

    inquiry: Inquiry
    #: The contact data is the real one (and, for staff, this view is in the access log).
    full: bool
    #: Why the contact data is masked (Chinese), '' when it is not.
    notice: str = ""


def disclose(session: Session, *, actor: User, inquiry: Inquiry) -> Detail:
    """``inquiry`` (which ``actor`` may see) with full contact data when ``sees_contacts``, the
    view logged in this transaction for staff and managers; masked otherwise, with the reason.
    Callers check visibility first (``inquiries.detail``)."""
    if inquiry.anonymised_at is not None:
        return Detail(inquiry, full=False, notice="联系方式已按个人信息保护要求匿名化")
    if not sees_contacts(actor, inquiry):
        if inquiry.assignee_id is None:
            notice = "联系方式仅对负责人完整显示：认领后即可查看"
        else:
            notice = "联系方式仅对该申请的负责人完整显示"
        return Detail(masked_copy(inquiry), full=False, notice=notice)
    if actor.role in STAFF_ROLES:
        record(session, actor=actor, action=AccessAction.viewed, inquiry=inquiry, row_count=1)
    return Detail(inquiry, full=True)


# --------------------------------------------------------------------------------------------
# Exports

NO_EXPORT_GRANT = "您没有导出联系方式的权限；如确有需要，请联系系统管理员开通“导出含联系方式”"


def may_export_contacts(actor: User) -> bool:
    """Whether an export of ``actor`` (re-read) may carry full contact data: a staff member or
    manager whom an administrator granted 导出含联系方式."""
    return actor.role in STAFF_ROLES and bool(actor.may_export_contacts)


def export_masked(actor: User, *, contacts: bool) -> bool:
    """Whether an export of ``actor`` (re-read) is masked. A company's own export never is; for
    staff it is unless ``contacts`` is asked for, which needs the grant (NotAllowed without)."""
    if actor.role == Role.enterprise:
        return False
    if contacts and not may_export_contacts(actor):
        raise NotAllowed(NO_EXPORT_GRANT)
    return not contacts


def describe_filter(flt) -> dict[str, str]:
    """An ``InquiryFilter`` as the access log keeps it: every field that narrows the rows, by
    its URL parameter (so ``/triage?…`` with them opens the same rows; none = every inquiry the
    actor may list)."""
    from dashboard.queries import FIELDS

    return {f.url_key: f.write(getattr(flt, f.name)) for f in FIELDS if getattr(flt, f.name)}


def log_export(session: Session, *, actor: User, flt, kind: str) -> DataAccessLog:
    """The access-log row of an export with contacts, written before its first row is read;
    ``finish_export`` sets its row count once the export has been read."""
    return record(
        session,
        actor=actor,
        action=AccessAction.exported,
        filter=describe_filter(flt),
        detail=f"导出 {kind}（含联系方式）",
    )


def finish_export(session: Session, row: DataAccessLog, count: int) -> None:
    row.row_count = count
    session.add(row)
    session.flush()


# --------------------------------------------------------------------------------------------
# Administration: the grant


#: The administrator check of the grant: the console operator may grant it too.
_require_admin = functools.partial(accounts.require_admin, console=True)


def set_export_contacts(
    session: Session, *, actor: Administrator, user_id: int, allowed: bool
) -> User:
    """Grant (or withdraw) 导出含联系方式 to a staff member or manager; audited as an account
    change. A company or an administrator exports no inquiries, so cannot be granted it."""
    actor = _require_admin(session, actor, write=True)
    user = accounts._target(session, user_id)
    if allowed and user.role not in STAFF_ROLES:
        raise FormInvalid({"may_export_contacts": "只有业务人员和管理人员可以开通导出含联系方式"})
    if bool(user.may_export_contacts) == allowed:
        return user
    user.may_export_contacts = allowed
    session.add(user)
    action = AccountAction.contacts_granted if allowed else AccountAction.contacts_revoked
    accounts._audit(session, action, user, actor)
    session.flush()
    return user
