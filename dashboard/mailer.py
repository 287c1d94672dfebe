"""Delivery of the e-mail outbox (``dashboard.notify`` writes it) over SMTP, with retries.

**Delivery** (``run_once``: ``python -m dashboard send-mail`` from cron, and ``BackgroundSender``
in each app process) is the system's own work: it acts for no user and takes none, it carries
out what the lifecycle already decided. A sender claims due rows for a lease
(``claimed_until``) before sending them: on PostgreSQL ``UPDATE … WHERE id IN (SELECT … FOR
UPDATE SKIP LOCKED)``, so two senders never take the same row; on SQLite the write transaction
is exclusive anyway. Each outcome is recorded right after its mail, so a crash between the SMTP
server's "250 OK" and that record (the only way a mail can go out twice) is a window of one
round trip; the Message-ID is the row's own, so a receiving system can tell such a copy. A
failure keeps its error (``last_error``) and is retried with a doubling wait; a permanent refusal
(5xx) or ``DASHBOARD_MAIL_MAX_TRIES`` attempts make it 发送失败, which an administrator can retry.
Without ``DASHBOARD_SMTP_URL`` and ``DASHBOARD_MAIL_FROM`` nothing is sent and every row stays
待发送. The settings, the SMTP session and what a refusal means are ``dashboard.smtp``.

A row may carry a file (``attachment_name``/``attachment_type``/``attachment``: the report of
``python -m dashboard report --mail``): it goes out as an attachment after the text and HTML.

"""

from __future__ import annotations

import email.policy
import functools
import logging
import smtplib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

import models
from dashboard import db, faults
from dashboard.notify import enqueue_overdue, one_line
from dashboard.settings import Settings, get_settings
from dashboard.smtp import Connection, SmtpConfig, Unreachable, refusal, smtp_config
from models import Notification, NotificationState, utcnow

log = logging.getLogger("dashboard.mailer")
#: Rows one claim takes: small enough that a batch is sent well within its lease.
BATCH = 50
#: The longest wait between two attempts of one mail.
MAX_BACKOFF = timedelta(hours=4)

_N = Notification.__table__


def delivery_problem(settings: Settings | None = None) -> str | None:
    """Why no mail can go out now (not configured, or configured wrongly), or None."""
    return smtp_config(settings or get_settings())[1]


# --------------------------------------------------------------------------------------------
# Sending


def message(row, sender: Address) -> EmailMessage:
    """The e-mail of an outbox row (``id``, ``recipient``, ``subject``, ``body``, ``body_html``,
    ``created_at``; ``attachment_name``, ``attachment_type``, ``attachment``: a file, or None).
    ValueError when the recipient is not an address or a header would not be one line: such a
    row can never be sent."""
    recipient = models.normalize_email(row.recipient)
    if recipient is None:
        raise ValueError("收件人地址无效")
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = Address(addr_spec=recipient)
    msg["Subject"] = one_line(row.subject)
    msg["Date"] = format_datetime(row.created_at)
    # The row's own id: a copy sent again after a crash carries the same Message-ID.
    stamp = row.created_at.strftime("%Y%m%d%H%M%S")
    msg["Message-ID"] = f"<outbox.{row.id}.{stamp}@{sender.domain}>"
    # RFC 3834: auto-replies (out of office) are not sent back to an automatic mail.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body)
    msg.add_alternative(row.body_html, subtype="html")
    if row.attachment is not None:
        # Base64 (an SVG line is longer than SMTP allows), the file name RFC 2231-encoded (a
        # Chinese name survives every client); a text file is UTF-8 (``notify.Attachment``).
        maintype, _, subtype = (row.attachment_type or "application/octet-stream").partition("/")
        msg.add_attachment(
            bytes(row.attachment),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=one_line(row.attachment_name, 200) or "attachment",
            params={"charset": "utf-8"} if maintype == "text" else None,
        )
    return msg


def _backoff(tries: int, retry_s: int) -> timedelta:
    return min(timedelta(seconds=retry_s * 2 ** min(tries - 1, 20)), MAX_BACKOFF)


@dataclass
class Delivery:
    """What one run did."""

    sent: int = 0
    #: Failed this time, to be tried again later.
    retrying: int = 0
    #: Given up on (发送失败).
    failed: int = 0
    #: Overdue notices written (``enqueue_overdue``).
    overdue: int = 0
    #: Why nothing (more) was sent: not configured, server unreachable; None when all went.
    problem: str | None = None


_DUE = (
    sa.select(_N.c.id)
    .where(
        _N.c.state == NotificationState.pending.value,
        _N.c.next_attempt_at <= sa.bindparam("now", type_=_N.c.next_attempt_at.type),
        sa.or_(
            _N.c.claimed_until.is_(None),
            _N.c.claimed_until < sa.bindparam("now", type_=_N.c.claimed_until.type),
        ),
    )
    .order_by(_N.c.next_attempt_at, _N.c.id)
    .limit(sa.bindparam("batch", type_=sa.Integer))
    # PostgreSQL: rows another sender is claiming right now are skipped, not waited for (and
    # rechecked after its commit, when their claimed_until excludes them). SQLite has no row
    # locks: its write transaction holds the whole database, so the clause is left out.
    .with_for_update(skip_locked=True)
)
#: What sending a row needs (``message``), and its attempts so far.
_SENT_COLUMNS = ("id", "recipient", "subject", "body", "body_html", "created_at", "tries")
_SENT_COLUMNS += ("attachment_name", "attachment_type", "attachment")
_CLAIM = (
    sa.update(_N)
    .where(_N.c.id.in_(_DUE))
    .values(claimed_until=sa.bindparam("until", type_=_N.c.claimed_until.type))
    .returning(*(_N.c[name] for name in _SENT_COLUMNS))
)


def _claim(engine: Engine, *, now: datetime, lease: timedelta, batch: int) -> list:
    with db.session_scope(engine) as session:
        rows = session.execute(_CLAIM, {"now": now, "until": now + lease, "batch": batch}).all()
    return sorted(rows, key=lambda r: r.id)


def _settle(
    engine: Engine,
    rows: Sequence,
    *,
    now: datetime | None,
    settings: Settings,
    report: Delivery,
    error: str | None = None,
    permanent: bool = False,
) -> None:
    """Record the outcome of ``rows`` (just sent, or failed with ``error``) and end their claim;
    ``now`` None: the time of the record."""
    now = now or utcnow()
    with db.session_scope(engine) as session:
        for row in rows:
            tries = row.tries + 1
            values: dict = {"tries": tries, "claimed_until": None}
            if error is None:
                values.update(state=NotificationState.sent.value, sent_at=now, last_error=None)
                report.sent += 1
            elif permanent or tries >= settings.mail_max_tries:
                values.update(state=NotificationState.failed.value, last_error=error[:500])
                report.failed += 1
            else:
                values.update(
                    last_error=error[:500],
                    next_attempt_at=now + _backoff(tries, settings.mail_retry_s),
                )
                report.retrying += 1
            session.execute(sa.update(_N).where(_N.c.id == row.id).values(**values))


def _release(engine: Engine, rows: Sequence) -> None:
    """Give claimed rows back untried (shutdown, or the lease running out)."""
    with db.session_scope(engine) as session:
        session.execute(
            sa.update(_N)
            .where(_N.c.id.in_([r.id for r in rows]), _N.c.state == NotificationState.pending.value)
            .values(claimed_until=None)
        )


def _lease(settings: Settings) -> timedelta:
    # One mail costs a few round trips of at most mail_timeout_s each (a new session a few more);
    # a batch stops sending well before its lease ends (``_send``), so that no other sender can
    # take a row while it is still being sent.
    return timedelta(seconds=max(600, 20 * settings.mail_timeout_s))


def _send(
    engine: Engine,
    rows: Sequence,
    config: SmtpConfig,
    *,
    settings: Settings,
    report: Delivery,
    now: datetime | None,
    stop: threading.Event | None,
) -> bool:
    """Send a claimed batch; True when the run should end (server unreachable, or told to
    stop)."""
    deadline = time.monotonic() + _lease(settings).total_seconds() - 10 * settings.mail_timeout_s
    settle = functools.partial(_settle, engine, now=now, settings=settings, report=report)
    smtp = Connection(config)
    try:
        for index, row in enumerate(rows):
            if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                _release(engine, rows[index:])
                return True
            try:
                msg = message(row, config.sender)
            except ValueError as err:  # never sendable: a bad recipient or header
                settle([row], error=str(err), permanent=True)
                continue
            try:
                smtp.send(msg, msg["To"].addresses[0].addr_spec)
            except Unreachable as err:
                # Every mail of the batch waits for the server: each keeps the error and its
                # next attempt, and the run ends rather than knocking again batch after batch.
                report.problem = str(err)
                settle(rows[index:], error=str(err))
                return True
            except smtplib.SMTPException as err:
                permanent, text = refusal(err)
                settle([row], error=text, permanent=permanent)
                continue
            settle([row])
    finally:
        smtp.close()
    return False


def deliver_due(
    engine: Engine | None = None,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    stop: threading.Event | None = None,
    settings: Settings | None = None,
) -> Delivery:
    """Send every mail that is due, batch after batch, and record each outcome.

    The system's own delivery: no user identity (it sends what the lifecycle decided). Without
    the SMTP settings it sends nothing and leaves every row as it is. ``stop`` (set at shutdown)
    ends it after the current mail, giving the rest of the batch back. ``now`` is for tests.
    """
    engine = engine or db.get_engine()
    settings = settings or get_settings()
    config, problem = smtp_config(settings)
    report = Delivery(problem=problem)
    if config is None:
        return report
    lease = _lease(settings)
    while stop is None or not stop.is_set():
        rows = _claim(engine, now=now or utcnow(), lease=lease, batch=batch)
        if not rows:
            break
        finished = _send(engine, rows, config, settings=settings, report=report, now=now, stop=stop)
        if finished or len(rows) < batch:
            break
    return report


def run_once(
    engine: Engine | None = None,
    *,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> Delivery:
    """One round of delivery (``python -m dashboard send-mail``, ``BackgroundSender``): write the
    overdue notices that are due, then send what is due. The system's own work: no user identity.
    """
    overdue = enqueue_overdue(engine, now=now)
    report = deliver_due(engine, now=now, stop=stop)
    report.overdue = overdue
    return report


class BackgroundSender:
    """The app process's sender: a daemon thread that runs ``run_once`` every ``interval_s``
    seconds until ``stop``. Each app process behind the proxy runs one; the claims keep them from
    sending a mail twice. Errors are logged and the next round tries again."""

    def __init__(self, interval_s: float, engine: Engine | None = None) -> None:
        self.interval_s = interval_s
        self._engine = engine
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BackgroundSender | None:
        """A started sender, or None when ``DASHBOARD_MAIL_INTERVAL`` is 0 (cron sends)."""
        interval = (settings or get_settings()).mail_interval_s
        return cls(interval).start() if interval > 0 else None

    def start(self) -> BackgroundSender:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                report = run_once(self._engine, stop=self._stopping)
            except faults.DATABASE_ERRORS as err:
                if not faults.is_outage(err):
                    log.exception("mail sender: database error")
                else:  # it comes back; the next round carries on where this one stopped
                    log.warning("mail sender: database unavailable (%s)", type(err).__name__)
                continue
            except Exception:
                log.exception("mail sender failed")
                continue
            if report.sent or report.retrying or report.failed:
                log.info(
                    "mail sender: %d sent, %d to retry, %d failed%s",
                    report.sent,
                    report.retrying,
                    report.failed,
                    f" ({report.problem})" if report.problem else "",
                )

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the mail being sent (if any); waits at most ``timeout`` seconds."""
        self._stopping.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
