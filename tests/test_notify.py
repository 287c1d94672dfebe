"""The e-mail outbox (``dashboard.notify``) against a real SMTP server (aiosmtpd, in process), on
SQLite and PostgreSQL: each event writes its mail in the transaction of the change, a rolled-back
change writes none, a server that is down keeps the mail pending with its error until it is
back, two senders at once send each mail once, and no user text can add a header or markup."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import select

from dashboard import __main__ as cli
from dashboard import db, inquiries, mailer, notify, outbox
from dashboard.errors import Conflict, NotAllowed
from dashboard.settings import Settings, get_settings
from models import Inquiry, Notification, User, clean_text, utcnow
from tests.conftest import valid_form

SENDER = "投保咨询 <noreply@insurer.example.com>"
REPLY = "已为贵公司安排客户经理，请留意来电。"
#: The reply as stored (NFKC: full-width punctuation becomes ASCII, ``models.clean_text``).
STORED_REPLY = clean_text(REPLY)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def header_lines(self) -> list[bytes]:
        head = self.raw.split(b"\r\n\r\n", 1)[0]
        return [line for line in head.split(b"\r\n") if line and line[:1] not in b" \t"]

    def part(self, subtype: str) -> str:
        """The text of the plain or html part, with the line breaks of the wire as ``\n``."""
        body = self.message.get_body(preferencelist=(subtype,)).get_content()
        return body.replace("\r\n", "\n")


class Inbox:
    """An aiosmtpd handler that keeps every message; it refuses the recipients in ``refuse``
    (550) and may take ``delay`` seconds per message (so that two senders overlap)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.delay = 0.0
        self.logins: list[tuple[bytes, bytes]] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, inbox: Inbox, port: int, **kwargs) -> None:
        self.inbox, self.port, self.kwargs = inbox, port, kwargs
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.inbox.received


def _configure(monkeypatch, url: str | None, sender: str | None = SENDER, **more: str) -> None:
    for key, value in {"DASHBOARD_SMTP_URL": url, "DASHBOARD_MAIL_FROM": sender, **more}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()


@pytest.fixture
def smtp(monkeypatch):
    """A running SMTP server on localhost, and the app configured to send to it."""
    server = SmtpServer(Inbox(), _free_port())
    server.start()
    _configure(monkeypatch, f"smtp://127.0.0.1:{server.port}")
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# Helpers


def _give_email(engine, user: User, address: str, *, new_inquiries: bool = False) -> None:
    with db.session_scope(engine) as s:
        row = s.get(User, user.id)
        row.email = address
        row.notify_new_inquiries = new_inquiries
        s.add(row)
    user.email = address


def _submitted(engine, company, **overrides) -> Inquiry:
    with db.session_scope(engine) as s:
        return inquiries.submit(s, actor=company, form=valid_form(**overrides))


def _complete(engine, actor, inquiry_ids, note=REPLY) -> None:
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=actor, inquiry_ids=inquiry_ids, note=note)


def _outbox(engine, kind: str | None = None) -> list[Notification]:
    with db.session_scope(engine, write=False) as s:
        stmt = select(Notification).order_by(Notification.id)
        if kind:
            stmt = stmt.where(Notification.kind == kind)
        return list(s.exec(stmt))


def _set_company_name(engine, inquiry_id: int, name: str) -> None:
    """Data that never passed the form (an import, an old row): the mail must still be safe."""
    with db.session_scope(engine) as s:
        s.execute(sa.update(Inquiry).where(Inquiry.id == inquiry_id).values(company_name=name))


# --------------------------------------------------------------------------------------------
# The events


def test_completion_sends_exactly_one_mail_to_the_company_with_the_serial_and_the_reply(
    engine, users, smtp
):
    inquiry = _submitted(engine, users["company"], email="Zhang.San@Example.COM")
    _complete(engine, users["staff"], [inquiry.id])

    report = mailer.run_once(engine)
    assert (report.sent, report.retrying, report.failed, report.problem) == (1, 0, 0, None)
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail.rcpt_tos == ["Zhang.San@example.com"]
    assert mail.mail_from == "noreply@insurer.example.com"
    msg = mail.message
    assert inquiry.serial in msg["Subject"] and "已处理完成" in msg["Subject"]
    assert msg["To"] == "Zhang.San@example.com"
    assert msg["From"].addresses[0].display_name == "投保咨询"
    for subtype in ("plain", "html"):
        body = mail.part(subtype)
        assert inquiry.serial in body and STORED_REPLY in body and "处理意见" in body
    [row] = _outbox(engine)
    assert (row.kind, row.state, row.tries, row.last_error) == ("completed", "sent", 1, None)
    assert row.sent_at is not None and row.inquiry_id == inquiry.id

    # Sent is sent: the next runs find nothing to do.
    assert mailer.run_once(engine).sent == 0
    assert len(smtp.received) == 1


def test_a_rolled_back_completion_writes_and_sends_nothing(engine, users, smtp):
    inquiry = _submitted(engine, users["company"])
    with pytest.raises(RuntimeError), db.session_scope(engine) as s:
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note=REPLY)
        assert len(s.exec(select(Notification)).all()) == 1  # written in the transaction...
        raise RuntimeError("the page failed after completing")
    assert _outbox(engine) == []  # ... and gone with it
    assert mailer.run_once(engine).sent == 0
    assert smtp.received == []
    with db.session_scope(engine, write=False) as s:
        assert s.get(Inquiry, inquiry.id).status == "submitted"


def test_bulk_completion_writes_one_mail_per_company(engine, users):
    first = _submitted(engine, users["company"], email="a@example.com")
    second = _submitted(engine, users["company"], email="b@example.com")
    _complete(engine, users["staff"], [second.id, first.id], note="")
    rows = _outbox(engine, "completed")
    assert sorted((r.inquiry_id, r.recipient) for r in rows) == [
        (first.id, "a@example.com"),
        (second.id, "b@example.com"),
    ]
    assert all("处理意见：\n（无）" in r.body for r in rows)


def test_assigning_tells_the_assignee_but_not_oneself_nor_an_account_without_an_address(
    engine, users
):
    _give_email(engine, users["staff"], "staff@insurer.example.com")
    _give_email(engine, users["staff2"], "staff2@insurer.example.com")
    inquiry = _submitted(engine, users["company"])

    def assign(actor, assignee):
        with db.session_scope(engine) as s:
            inquiries.assign(s, actor=actor, inquiry_id=inquiry.id, assignee_id=assignee.id)

    assign(users["staff"], users["staff2"])
    assign(users["staff"], users["staff2"])  # already theirs: no second mail
    assign(users["manager"], users["manager"])  # no e-mail address
    assign(users["staff"], users["staff"])  # took it themselves
    rows = _outbox(engine, "assigned")
    assert [r.recipient for r in rows] == ["staff2@insurer.example.com"]
    assert inquiry.serial in rows[0].subject and "已分配给您" in rows[0].subject
    assert "STAFF2，您好" in rows[0].body


def test_a_new_unrouted_inquiry_tells_the_staff_who_opted_in(engine, users):
    _give_email(engine, users["staff"], "staff@insurer.example.com")
    _give_email(engine, users["staff2"], "staff2@insurer.example.com", new_inquiries=True)
    with db.session_scope(engine) as s:  # opted in, but no address to send to
        outbox.set_new_inquiry_mail(
            s, actor=users["admin"], user_id=users["manager"].id, enabled=True
        )
    inquiry = _submitted(engine, users["company"])
    rows = _outbox(engine, "new_inquiry")
    assert [r.recipient for r in rows] == ["staff2@insurer.example.com"]
    assert inquiry.serial in rows[0].subject and "待分配" in rows[0].subject
    # A draft is no new inquiry.
    with db.session_scope(engine) as s:
        inquiries.save_draft(s, actor=users["company"], form=valid_form())
    assert len(_outbox(engine, "new_inquiry")) == 1


def test_only_an_admin_or_the_person_themselves_chooses_new_inquiry_mail(engine, users):
    with db.session_scope(engine) as s:
        outbox.set_new_inquiry_mail(
            s, actor=users["staff"], user_id=users["staff"].id, enabled=True
        )
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        outbox.set_new_inquiry_mail(
            s, actor=users["staff"], user_id=users["staff2"].id, enabled=True
        )
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        outbox.set_new_inquiry_mail(
            s, actor=users["company"], user_id=users["company"].id, enabled=True
        )
    with db.session_scope(engine, write=False) as s:
        flags = {u.username: u.notify_new_inquiries for u in s.exec(select(User))}
    assert [name for name, on in flags.items() if on] == ["staff"]


def test_an_overdue_inquiry_tells_its_assignee_once(engine, users, smtp):
    _give_email(engine, users["staff2"], "staff2@insurer.example.com")
    overdue = _submitted(engine, users["company"])
    unassigned = _submitted(engine, users["company"])
    done = _submitted(engine, users["company"])
    for inquiry in (overdue, done):
        with db.session_scope(engine) as s:
            inquiries.assign(
                s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users["staff2"].id
            )
    _complete(engine, users["staff"], [done.id])
    later = overdue.submitted_at + timedelta(days=5)  # past 2 working days whatever the weekday

    assert mailer.run_once(engine).overdue == 0  # not overdue yet
    first = mailer.run_once(engine, now=later)
    again = mailer.run_once(engine, now=later + timedelta(hours=1))
    assert (first.overdue, again.overdue) == (1, 0)
    [row] = _outbox(engine, "overdue")
    assert (row.inquiry_id, row.recipient, row.once_key) == (
        overdue.id,
        "staff2@insurer.example.com",
        f"overdue:{overdue.id}",
    )
    assert unassigned.id != row.inquiry_id
    subjects = [m.message["Subject"] for m in smtp.received]
    assert sum("已超时" in s for s in subjects) == 1


# --------------------------------------------------------------------------------------------
# Delivery


def test_without_the_smtp_settings_nothing_is_sent_and_the_outbox_keeps_the_mail(engine, users):
    inquiry = _submitted(engine, users["company"])
    _complete(engine, users["staff"], [inquiry.id])
    report = mailer.run_once(engine)
    assert report.sent == 0 and "DASHBOARD_SMTP_URL" in report.problem
    [row] = _outbox(engine)
    assert (row.state, row.tries, row.last_error, row.claimed_until) == ("pending", 0, None, None)


def test_a_server_that_is_down_keeps_the_mail_pending_with_its_error_until_it_is_back(
    engine, users, smtp
):
    smtp.stop()
    inquiry = _submitted(engine, users["company"])
    _complete(engine, users["staff"], [inquiry.id])

    report = mailer.run_once(engine)
    assert (report.sent, report.retrying) == (0, 1)
    assert "无法连接邮件服务器" in report.problem
    [row] = _outbox(engine)
    assert (row.state, row.tries, row.claimed_until) == ("pending", 1, None)
    assert "无法连接邮件服务器" in row.last_error
    assert row.next_attempt_at > utcnow()  # waits before the next attempt
    assert mailer.run_once(engine).retrying == 0  # not yet due: not tried again at once

    smtp.start()
    report = mailer.run_once(engine, now=utcnow() + timedelta(hours=1))
    assert report.sent == 1
    assert [m.rcpt_tos for m in smtp.received] == [["zhangsan@example.com"]]
    [row] = _outbox(engine)
    assert (row.state, row.tries, row.last_error) == ("sent", 2, None)
    assert mailer.run_once(engine, now=utcnow() + timedelta(hours=2)).sent == 0
    assert len(smtp.received) == 1


def test_retries_wait_longer_each_time_and_end_as_failed(engine, users, monkeypatch):
    _configure(
        monkeypatch, f"smtp://127.0.0.1:{_free_port()}", DASHBOARD_MAIL_MAX_TRIES="3"
    )  # nobody listens there
    inquiry = _submitted(engine, users["company"])
    _complete(engine, users["staff"], [inquiry.id])
    now, waits = utcnow(), []
    for _ in range(3):
        mailer.deliver_due(engine, now=now)
        [row] = _outbox(engine)
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits[0] == timedelta(seconds=60) and waits[1] == timedelta(seconds=120)
    assert (row.state, row.tries) == ("failed", 3)
    assert "无法连接邮件服务器" in row.last_error


def test_a_permanent_refusal_fails_at_once_and_the_others_still_go(engine, users, smtp):
    smtp.inbox.refuse.add("nobody@example.com")
    refused = _submitted(engine, users["company"], email="nobody@example.com")
    fine = _submitted(engine, users["company"], email="li@example.com")
    _complete(engine, users["staff"], [refused.id, fine.id])
    report = mailer.run_once(engine)
    assert (report.sent, report.failed, report.retrying) == (1, 1, 0)
    rows = {r.recipient: r for r in _outbox(engine)}
    assert rows["nobody@example.com"].state == "failed"
    assert "550" in rows["nobody@example.com"].last_error
    assert rows["li@example.com"].state == "sent"
    assert [m.rcpt_tos for m in smtp.received] == [["li@example.com"]]


def test_two_senders_at_once_send_each_mail_once(engine, users, smtp):
    """On PostgreSQL the claims skip each other's locked rows; on SQLite the write transaction
    is exclusive. Either way every mail goes out exactly once."""
    smtp.inbox.delay = 0.03
    ids = [_submitted(engine, users["company"], email=f"c{i}@example.com").id for i in range(24)]
    _complete(engine, users["staff"], ids)
    start = threading.Barrier(2)
    reports: list = []
    errors: list = []

    def sender() -> None:
        try:
            start.wait()
            reports.append(mailer.deliver_due(engine, batch=3))
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r.sent for r in reports) == 24
    assert all(r.sent > 0 for r in reports)  # both took part
    recipients = [m.rcpt_tos[0] for m in smtp.received]
    assert sorted(recipients) == sorted(f"c{i}@example.com" for i in range(24))
    assert len({m.message["Message-ID"] for m in smtp.received}) == 24
    assert {(r.state, r.tries) for r in _outbox(engine)} == {("sent", 1)}


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite's write transaction is exclusive
def test_a_row_another_sender_is_claiming_is_skipped_not_waited_for(backend, engine, users, smtp):
    """PostgreSQL: the claim's FOR UPDATE SKIP LOCKED passes over a row locked by another
    transaction (another sender in the middle of its claim) instead of waiting for it."""
    first = _submitted(engine, users["company"], email="first@example.com")
    second = _submitted(engine, users["company"], email="second@example.com")
    _complete(engine, users["staff"], [first.id, second.id])
    locked = next(r for r in _outbox(engine) if r.recipient == "first@example.com")
    with engine.connect() as other:
        other.execute(
            sa.select(Notification.id).where(Notification.id == locked.id).with_for_update()
        )
        started = time.monotonic()
        report = mailer.deliver_due(engine)
        assert time.monotonic() - started < 5
        other.rollback()
    assert report.sent == 1
    assert [m.rcpt_tos for m in smtp.received] == [["second@example.com"]]
    assert mailer.deliver_due(engine).sent == 1  # its turn once the lock is gone
    assert sorted(m.rcpt_tos[0] for m in smtp.received) == [
        "first@example.com",
        "second@example.com",
    ]


def test_the_sender_logs_in_with_the_credentials_of_the_url(engine, users, monkeypatch):
    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.logins.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd answers a refusal itself (535)
        return AuthResult(success=auth_data.password == b"s:cret@1", handled=False)

    server = SmtpServer(inbox, _free_port(), authenticator=authenticator, auth_require_tls=False)
    server.start()
    try:
        inquiry = _submitted(engine, users["company"])
        _complete(engine, users["staff"], [inquiry.id])
        _configure(monkeypatch, f"smtp://mailer:wrong@127.0.0.1:{server.port}")
        report = mailer.run_once(engine)
        assert report.sent == 0 and "认证失败" in _outbox(engine)[0].last_error
        _configure(monkeypatch, f"smtp://mailer:s%3Acret%401@127.0.0.1:{server.port}")
        assert mailer.run_once(engine, now=utcnow() + timedelta(hours=1)).sent == 1
    finally:
        server.stop()
    assert inbox.logins[-1] == (b"mailer", b"s:cret@1")
    assert len(inbox.received) == 1


def test_the_background_sender_sends_while_it_runs_and_stops(engine, users, smtp):
    sender = mailer.BackgroundSender(0.05, engine=engine).start()
    try:
        inquiry = _submitted(engine, users["company"])
        _complete(engine, users["staff"], [inquiry.id])
        deadline = time.monotonic() + 20
        while not smtp.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sender.stop(timeout=10)
    assert not sender.running
    assert len(smtp.received) == 1
    assert _outbox(engine)[0].state == "sent"


def test_no_background_sender_when_the_interval_is_zero(monkeypatch):
    _configure(monkeypatch, None, None, DASHBOARD_MAIL_INTERVAL="0")
    assert mailer.BackgroundSender.from_settings() is None


def test_send_mail_command_sends_and_reports(engine, users, smtp, capsys):
    inquiry = _submitted(engine, users["company"])
    _complete(engine, users["staff"], [inquiry.id])
    assert cli.main(["send-mail"]) == 0
    assert "已发送 1 封" in capsys.readouterr().out
    assert len(smtp.received) == 1


def test_send_mail_command_without_settings_says_so(engine, capsys):
    assert cli.main(["send-mail"]) == 0
    out = capsys.readouterr()
    assert "已发送 0 封" in out.out and "DASHBOARD_SMTP_URL" in out.err


# --------------------------------------------------------------------------------------------
# Safety: headers, recipients, HTML

EVIL = "\r\nBcc: evil@attacker.example\r\nX-Injected: 1"


def test_a_header_injection_in_a_company_name_or_reply_adds_no_header(engine, users, smtp):
    _give_email(engine, users["staff2"], "staff2@insurer.example.com")
    inquiry = _submitted(engine, users["company"])
    _set_company_name(engine, inquiry.id, "恶意公司" + EVIL)
    with db.session_scope(engine) as s:
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=inquiry.id, assignee_id=users["staff2"].id
        )
    _complete(engine, users["staff"], [inquiry.id], note="谢谢" + EVIL)
    assert mailer.run_once(engine).sent == 2
    assert sorted(m.rcpt_tos for m in smtp.received) == [
        ["staff2@insurer.example.com"],
        ["zhangsan@example.com"],
    ]
    for mail in smtp.received:
        names = {line.split(b":", 1)[0].lower() for line in mail.header_lines}
        assert names == {
            b"from",
            b"to",
            b"subject",
            b"date",
            b"message-id",
            b"auto-submitted",
            b"mime-version",
            b"content-type",
        }
        assert "\n" not in mail.message["Subject"] and "\r" not in mail.message["Subject"]
        assert b"evil@attacker.example" not in b"".join(mail.header_lines)
    assigned = next(m for m in smtp.received if "已分配给您" in m.message["Subject"])
    assert "恶意公司 Bcc: evil@attacker.example X-Injected: 1" in assigned.message["Subject"]


def test_a_recipient_with_a_line_break_is_never_sent(engine, users, smtp):
    inquiry = _submitted(engine, users["company"])
    with db.session_scope(engine) as s:  # data that never passed the form
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == inquiry.id)
            .values(email="victim@example.com" + EVIL)
        )
    _complete(engine, users["staff"], [inquiry.id])
    [row] = _outbox(engine)
    assert (row.state, row.last_error) == ("failed", "收件人地址无效")
    assert "\r" not in row.recipient and "\n" not in row.recipient
    assert mailer.run_once(engine).sent == 0
    assert smtp.received == []
    fake = SimpleNamespace(
        id=1,
        recipient="a@example.com" + EVIL,
        subject="s",
        body="b",
        body_html="<p>b</p>",
        created_at=utcnow(),
    )
    with pytest.raises(ValueError):
        mailer.message(fake, mailer.smtp_config(get_settings())[0].sender)


def test_one_line_folds_every_line_break_and_control_character():
    assert notify.one_line("甲\r\n乙\n丙\u2028丁\x00戊\u200b己\t庚") == "甲 乙 丙 丁 戊 己 庚"
    assert len(notify.one_line("长" * 500)) == notify.SUBJECT_MAX


def test_the_html_part_escapes_user_text(engine, users, smtp):
    note = "<script>alert('x')</script> & <b>粗体</b>\n第二行"
    inquiry = _submitted(engine, users["company"], contact_name="<img src=x onerror=alert(1)>")
    _complete(engine, users["staff"], [inquiry.id], note=note)
    mailer.run_once(engine)
    [mail] = smtp.received
    page = mail.part("html")
    assert "<script>" not in page and "<b>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;粗体&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<br>第二行" in page
    assert note in mail.part("plain")  # the plain text keeps it as typed


# --------------------------------------------------------------------------------------------
# Configuration and administration


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, False, False, None, None)),
        ("smtp://u:p@mail.example.com:2525", ("mail.example.com", 2525, False, False, "u", "p")),
        ("smtp://mail.example.com?starttls=1", ("mail.example.com", 587, False, True, None, None)),
        (
            "smtps://a%40b:p%3Aw@mail.example.com",
            ("mail.example.com", 465, True, False, "a@b", "p:w"),
        ),
    ],
)
def test_the_smtp_url_says_where_and_how_to_send(url, expected):
    config, problem = mailer.smtp_config(Settings(smtp_url=url, mail_from="noreply@example.com"))
    assert problem is None
    assert (
        config.host,
        config.port,
        config.tls,
        config.starttls,
        config.username,
        config.password,
    ) == expected


@pytest.mark.parametrize(
    ("url", "sender", "problem"),
    [
        (None, "noreply@example.com", "未配置"),
        ("smtp://mail.example.com", None, "未配置"),
        ("http://mail.example.com", "noreply@example.com", "DASHBOARD_SMTP_URL"),
        ("smtp://mail.example.com:notaport", "noreply@example.com", "DASHBOARD_SMTP_URL"),
        ("smtp://mail.example.com", "not an address", "DASHBOARD_MAIL_FROM"),
        ("smtp://mail.example.com", "x@example.com\r\nBcc: e@example.com", "DASHBOARD_MAIL_FROM"),
    ],
)
def test_a_missing_or_wrong_setting_is_named_and_sends_nothing(url, sender, problem):
    config, found = mailer.smtp_config(Settings(smtp_url=url, mail_from=sender))
    assert config is None and problem in found
    assert "password" not in found


def test_an_admin_retries_a_failed_mail(engine, users, monkeypatch):
    _configure(monkeypatch, f"smtp://127.0.0.1:{_free_port()}", DASHBOARD_MAIL_MAX_TRIES="1")
    inquiry = _submitted(engine, users["company"])
    _complete(engine, users["staff"], [inquiry.id])
    mailer.deliver_due(engine)
    [row] = _outbox(engine)
    assert (row.state, row.tries) == ("failed", 1)

    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        outbox.retry(s, actor=users["staff"], notification_id=row.id)
    with db.session_scope(engine) as s:
        outbox.retry(s, actor=users["admin"], notification_id=row.id)
    [row] = _outbox(engine)
    assert (row.state, row.tries) == ("pending", 0)
    assert "无法连接邮件服务器" in row.last_error  # kept until the next attempt
    with pytest.raises(Conflict), db.session_scope(engine) as s:
        outbox.retry(s, actor=users["admin"], notification_id=row.id)


def test_the_outbox_lists_filters_and_counts_for_admins_only(engine, users):
    first = _submitted(engine, users["company"], email="first@example.com")
    second = _submitted(engine, users["company"], email="second@example.com")
    _complete(engine, users["staff"], [first.id, second.id])
    with db.session_scope(engine) as s:
        s.execute(
            sa.update(Notification)
            .where(Notification.recipient == "first@example.com")
            .values(state="failed", last_error="550 no such user")
        )
    with db.session_scope(engine, write=False) as s:
        everything = outbox.outbox(s, actor=users["admin"])
        failed = outbox.outbox(s, actor=users["admin"], state="failed")
        found = outbox.outbox(s, actor=users["admin"], search=second.serial)
        counts = outbox.outbox_counts(s, actor=users["admin"])
        completed = outbox.outbox(s, actor=users["admin"], kind="completed", search="SECOND@")
    assert [e.recipient for e in everything] == ["second@example.com", "first@example.com"]
    assert [(e.recipient, e.last_error) for e in failed] == [
        ("first@example.com", "550 no such user")
    ]
    assert [e.serial for e in found] == [second.serial]
    assert counts == {"pending": 1, "sent": 0, "failed": 1}
    assert [e.recipient for e in completed] == ["second@example.com"]
    for who in ("staff", "manager", "company"):
        with pytest.raises(NotAllowed), db.session_scope(engine, write=False) as s:
            outbox.outbox(s, actor=users[who])
