"""The e-mail outbox, what to tell whom: the text of each mail and the ``notification`` rows the
lifecycle writes. Delivery is ``dashboard.mailer``; the administrators' view ``dashboard.outbox``.

**What to tell whom.** The lifecycle (``dashboard.inquiries``) calls the ``inquiry_*`` functions
below inside its own transaction, so each ``Notification`` row commits or rolls back together
with the change it reports: no mail is lost, and none goes out for a change that rolled back.

- an inquiry assigned → the new assignee (their account's 邮箱); not when they took it themselves
  (a claim) or it already was theirs;
- a new inquiry that nobody is responsible for → every active staff member or manager who asked
  for it (``User.notify_new_inquiries``; an inquiry a routing rule gave someone goes to them);
- an inquiry completed → the company's 联系邮箱, with the 询保流水号 and the 处理意见;
- an inquiry overdue (超时, ``clock.overdue_cutoff``) → its assignee, once per inquiry
  (``once_key``); found by the sender (``enqueue_overdue``), since nothing changes when an
  inquiry merely waits;
- the report file (``python -m dashboard report --mail``) → every active manager, with the
  report's sentences in the mail and the self-contained HTML file attached (``queue_report``).

Whoever has no e-mail address is skipped. An address that is not one still gets a row, marked
发送失败, so the administrator sees what could not be sent.

"""

from __future__ import annotations

import calendar
import html
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import models
from dashboard import accounts, clock, db, dialect, regions
from dashboard.settings import Settings, get_settings
from models import (
    INTENT_LABELS,
    Inquiry,
    Notification,
    NotificationKind,
    NotificationState,
    Role,
    Status,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from dashboard.report_file import ReportFile
    from dashboard.reports import ReportFilter

log = logging.getLogger("dashboard.notify")

STAFF_ROLES = (Role.staff.value, Role.manager.value)
#: Characters of a subject made from user text (a long company name stays readable in a list).
SUBJECT_MAX = 120
FOOTER = "此邮件由投保咨询系统自动发送，请勿直接回复。"
#: Only inquiries that became overdue within this long get an overdue notice. Without it the
#: first run after this feature is installed (or after the senders were stopped for long) would
#: mail a reminder for every inquiry that was ever overdue; older ones are left to 咨询处理's
#: 超时 filter.
OVERDUE_LOOKBACK = timedelta(days=7)
#: Overdue notices one run writes at most (one transaction stays short).
OVERDUE_PER_RUN = 500

_N = Notification.__table__


# --------------------------------------------------------------------------------------------
# Composing: the text of each mail, and its HTML twin with every piece escaped


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail: its name as the reader sees it, its MIME type, its bytes (a
    text file's in UTF-8: the sender labels it so)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    """One e-mail as the outbox stores it (plain text, its HTML twin, perhaps a file)."""

    recipient: str
    subject: str
    text: str
    html: str
    attachment: Attachment | None = None


def one_line(text: str | None, limit: int = SUBJECT_MAX) -> str:
    """User text fit for a header: every control, format or separator character (CR, LF, NUL,
    zero-width, line and paragraph separators) becomes a space, runs of spaces one, at most
    ``limit`` characters. A subject built from a company name can then never start a header."""
    spaced = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text or "")
    return " ".join(spaced.split())[:limit]


def _html(paragraphs: Sequence[str]) -> str:
    """The HTML twin of a plain-text mail: each paragraph escaped (``html.escape``), its line
    breaks as ``<br>``; nothing of the text can become markup."""
    body = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head>'
        '<body style="font-family: sans-serif; line-height: 1.6">' + body + "</body></html>"
    )


def _mail(
    recipient: str,
    subject: str,
    paragraphs: Sequence[str],
    attachment: Attachment | None = None,
) -> Mail:
    paragraphs = [*paragraphs, FOOTER]
    return Mail(
        recipient=recipient,
        subject=one_line(subject),
        text="\n\n".join(paragraphs) + "\n",
        html=_html(paragraphs),
        attachment=attachment,
    )


def _facts(inquiry: Inquiry) -> str:
    return "\n".join(
        [
            f"询保流水号：{inquiry.serial}",
            f"公司名称：{inquiry.company_name}",
            f"询保内容：{INTENT_LABELS.get(inquiry.intent, inquiry.intent)}",
            f"提交时间：{clock.show(inquiry.submitted_at)}",
        ]
    )


#: A mail to a staff member about one inquiry, by kind: the subject, the lead-in and what to
#: do (``str.format`` fields: ``serial``, ``company``, ``days`` working days of the SLA).
_STAFF_TEXTS = {
    NotificationKind.assigned: (
        "询保申请 {serial}（{company}）已分配给您",
        "以下询保申请已分配给您处理：",
        "请登录投保咨询系统，在“咨询处理”页面查看并处理。",
    ),
    NotificationKind.new_inquiry: (
        "新的询保申请 {serial}（{company}）待分配",
        "有一条新的询保申请尚未分配负责人：",
        "请登录投保咨询系统，在“咨询处理”页面认领或分配。",
    ),
    NotificationKind.overdue: (
        "询保申请 {serial}（{company}）已超时",
        "您负责的以下询保申请已超过{days}个工作日仍未办结：",
        "请尽快登录投保咨询系统，在“咨询处理”页面处理。",
    ),
}


def _staff_mail(kind: NotificationKind, inquiry: Inquiry, user: User, days: int = 0) -> Mail:
    """The ``kind`` mail to ``user`` about ``inquiry``: greeting, lead-in, the inquiry's facts,
    what to do on 咨询处理. User text is filled in as values, never as a format string."""
    subject, lead, action = _STAFF_TEXTS[kind]
    values = {"serial": inquiry.serial, "company": inquiry.company_name, "days": days}
    paragraphs = [f"{user.label}，您好：", lead.format(**values), _facts(inquiry), action]
    return _mail(user.email or "", subject.format(**values), paragraphs)


def assigned_mail(inquiry: Inquiry, assignee: User) -> Mail:
    return _staff_mail(NotificationKind.assigned, inquiry, assignee)


def new_inquiry_mail(inquiry: Inquiry, recipient: User) -> Mail:
    return _staff_mail(NotificationKind.new_inquiry, inquiry, recipient)


def completed_mail(inquiry: Inquiry, note: str) -> Mail:
    return _mail(
        inquiry.email,
        f"您的询保申请 {inquiry.serial} 已处理完成",
        [
            f"{inquiry.contact_name}，您好：",
            f"贵公司（{inquiry.company_name}）提交的询保申请已处理完成。",
            f"询保流水号：{inquiry.serial}",
            "处理意见：\n" + (note or "（无）"),
            "如有疑问，请登录投保咨询系统查看，或与我们的业务人员联系。",
        ],
    )


def overdue_mail(inquiry: Inquiry, assignee: User, working_days: int) -> Mail:
    return _staff_mail(NotificationKind.overdue, inquiry, assignee, working_days)


def report_subject(flt: ReportFilter) -> str:
    """``投保咨询周报 2026-11-23 至 2026-11-29``: 周报 for a week from Monday to Sunday, 月报 for
    a calendar month, else 报告; the intent and province filters, when set, follow the period."""
    from dashboard import narrative  # pandas: loaded when a report is mailed, not by the lifecycle

    last_of_month = calendar.monthrange(flt.start.year, flt.start.month)[1]
    if flt.since_the_beginning:
        word = "报告"
    elif flt.days == 7 and flt.start.weekday() == 0:
        word = "周报"
    elif flt.start.day == 1 and flt.end == flt.start.replace(day=last_of_month):
        word = "月报"
    else:
        word = "报告"
    filters = [INTENT_LABELS[i] for i in flt.intents]
    if flt.province_code:
        filters.append(regions.name(flt.province_code) or flt.province_code)
    more = f"（{'、'.join(filters)}）" if filters else ""
    return f"投保咨询{word} {narrative.period_text(flt)}{more}"


def report_mail(report: ReportFile, manager: User) -> Mail:
    """The report file for a manager: the sentences of the report, section by section, in the
    mail, and the self-contained HTML file (``report_file``) attached."""
    from dashboard import narrative

    sections = [
        heading + "\n" + "\n".join(narrative.as_text(s) for s in sentences)
        for heading, sentences in report.summary.items()
    ]
    paragraphs = [
        f"{manager.label}，您好：",
        f"附件是投保咨询统计报表（{narrative.caption(report.flt)}），可离线打开、打印。要点如下：",
        *sections,
        "完整的图表和明细见附件，或登录投保咨询系统查看“统计报表”页面。",
    ]
    attachment = Attachment(report.name, "text/html", report.html.encode("utf-8"))
    return _mail(manager.email or "", report_subject(report.flt), paragraphs, attachment)


# --------------------------------------------------------------------------------------------
# Writing rows, inside the caller's transaction

_INSERT = sa.insert(_N)


def _row(
    mail: Mail,
    *,
    kind: NotificationKind,
    inquiry_id: int | None,
    now: datetime,
    once_key: str | None = None,
) -> dict:
    recipient = models.normalize_email(mail.recipient)
    row = {
        "kind": kind.value,
        "inquiry_id": inquiry_id,
        "recipient": recipient or one_line(mail.recipient, 254),
        "subject": mail.subject,
        "body": mail.text,
        "body_html": mail.html,
        "created_at": now,
        "state": NotificationState.pending.value,
        "tries": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "sent_at": None,
        "last_error": None,
        "once_key": once_key,
        "attachment_name": mail.attachment.name if mail.attachment else None,
        "attachment_type": mail.attachment.content_type if mail.attachment else None,
        "attachment": mail.attachment.data if mail.attachment else None,
    }
    if recipient is None:  # kept, so that the administrator sees what could not be sent
        row.update(state=NotificationState.failed.value, last_error="收件人地址无效")
    return row


def _queue(
    session: Session, kind: NotificationKind, mails: Iterable[tuple[Mail, int | None]]
) -> list[dict]:
    """Write a row for each (mail, inquiry id), in one statement; returns the rows."""
    now = utcnow()
    rows = [_row(mail, kind=kind, inquiry_id=inquiry_id, now=now) for mail, inquiry_id in mails]
    if rows:
        session.execute(_INSERT, rows)
    return rows


_SUBSCRIBERS = (
    select(User)
    .where(
        User.notify_new_inquiries,
        User.is_active,
        User.role.in_(STAFF_ROLES),
        User.email.is_not(None),
        User.email != "",
    )
    .order_by(User.id)
)


def inquiry_assigned(
    session: Session,
    *,
    inquiry: Inquiry,
    assignee: User | None,
    actor: User,
    previous_assignee_id: int | None = None,
) -> None:
    """Tell the new assignee (called by ``inquiries.assign`` in its transaction, after its
    checks). Nothing for an unassignment, for someone who took the inquiry themselves (they know),
    for the assignee it already had, or for an account without an e-mail address."""
    if (
        assignee is None
        or not assignee.email
        or assignee.id == actor.id
        or assignee.id == previous_assignee_id
    ):
        return
    _queue(session, NotificationKind.assigned, [(assigned_mail(inquiry, assignee), inquiry.id)])


def inquiry_submitted(session: Session, *, inquiry: Inquiry) -> None:
    """A new inquiry (called by ``inquiries.submit`` in its transaction): its assignee when one
    was set on submit (routing), otherwise every staff member or manager who asked for mail about
    new unrouted inquiries."""
    if inquiry.assignee_id is not None:
        assignee = session.get(User, inquiry.assignee_id)
        if assignee is not None and assignee.is_active and assignee.email:
            mail = assigned_mail(inquiry, assignee)
            _queue(session, NotificationKind.assigned, [(mail, inquiry.id)])
        return
    mails = [(new_inquiry_mail(inquiry, user), inquiry.id) for user in session.exec(_SUBSCRIBERS)]
    _queue(session, NotificationKind.new_inquiry, mails)


def inquiries_completed(session: Session, *, inquiries: Sequence[Inquiry], note: str) -> None:
    """Tell each company that its inquiry is completed, with the serial and the 处理意见
    ``note`` (called by ``inquiries.complete`` in its transaction; one statement for the whole
    selection)."""
    mails = [(completed_mail(inquiry, note), inquiry.id) for inquiry in inquiries if inquiry.email]
    _queue(session, NotificationKind.completed, mails)


_MANAGERS = (
    select(User)
    .where(
        User.role == Role.manager.value,
        User.is_active,
        User.email.is_not(None),
        User.email != "",
    )
    .order_by(User.id)
)


def queue_report(session: Session, *, actor: User, report: ReportFile) -> list[str]:
    """Queue ``report`` (``report_file.build``, made as ``actor``) to every active manager with
    an e-mail address, one row each, in the caller's transaction: all of them or, when it rolls
    back, none. ``actor`` is an active manager (NotAllowed for anyone else): the report's
    readers are the managers, and one of them sends it to the others. Returns the addresses,
    [] when no active manager has one (nothing is written)."""
    accounts.require_role(session, actor, Role.manager.value, write=True)
    managers = session.exec(_MANAGERS.execution_options(populate_existing=True))
    mails = [(report_mail(report, manager), None) for manager in managers]
    return [row["recipient"] for row in _queue(session, NotificationKind.report, mails)]


def _overdue_candidates(now: datetime, working_days: int):
    cutoff = clock.overdue_cutoff(now, working_days)
    told = sa.exists().where(
        Notification.kind == NotificationKind.overdue.value,
        Notification.inquiry_id == Inquiry.id,
    )
    return (
        select(Inquiry, User)
        .join(User, User.id == Inquiry.assignee_id)
        .where(
            Inquiry.status == Status.submitted.value,
            Inquiry.submitted_at < cutoff,
            Inquiry.submitted_at >= cutoff - OVERDUE_LOOKBACK,
            User.is_active,
            User.email.is_not(None),
            User.email != "",
            ~told,
        )
        .order_by(Inquiry.submitted_at, Inquiry.id)
        .limit(OVERDUE_PER_RUN)
    )


def enqueue_overdue(
    engine: Engine | None = None, *, now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Write an overdue notice (超时提醒) for each inquiry that became overdue (within
    ``OVERDUE_LOOKBACK``) and has an assignee with an e-mail address, once per inquiry; returns
    how many were written.

    The system's own work (part of ``run_once``): no user identity. A read first, so that the
    usual run with nothing to do takes no write lock; the write re-reads, so an inquiry completed
    in between is not reported. Two senders at once write each notice once (``once_key``).
    """
    engine = engine or db.get_engine()
    now = now or utcnow()
    days = (settings or get_settings()).sla_working_days
    stmt = _overdue_candidates(now, days)
    with db.session_scope(engine, write=False) as session:
        if session.exec(stmt.limit(1)).first() is None:
            return 0
    with db.session_scope(engine) as session:
        # RETURNING tells whether the row went in (rowcount is not reliable on every driver).
        insert = (
            dialect.insert(dialect.name(session), _N)
            .on_conflict_do_nothing(index_elements=["once_key"])
            .returning(_N.c.id)
        )
        written = 0
        for inquiry, assignee in session.exec(stmt).all():
            mail = overdue_mail(inquiry, assignee, days)
            row = _row(
                mail,
                kind=NotificationKind.overdue,
                inquiry_id=inquiry.id,
                now=now,
                once_key=f"overdue:{inquiry.id}",
            )
            written += len(session.execute(insert, row).all())
    return written
