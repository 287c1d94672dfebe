"""The report by e-mail (``python -m dashboard report --mail``, ``notify.queue_report``) against a
real SMTP server (aiosmtpd, in process; the ``smtp`` fixture of test_notify), on SQLite and
PostgreSQL: one outbox row per active manager with an address, written in one transaction; the
sender delivers each with the self-contained HTML report attached; nothing is queued when the
report or the transaction fails, or when no manager has an address."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import __main__ as cli
from dashboard import accounts, db, mailer, notify, outbox, report_file
from dashboard.errors import NotAllowed
from dashboard.reports import ReportFilter
from models import NOTIFICATION_KIND_LABELS, Notification, User
from tests import test_notify
from tests.conftest import PASSWORD
from tests.report_data import make_inquiries
from tests.test_report_file import Page

WEEK = ["--from", "2026-11-23", "--to", "2026-11-29"]
SUBJECT = "投保咨询周报 2026-11-23 至 2026-11-29"
FILE_NAME = "统计报表_2026-11-23_2026-11-29.html"
BOSS, BOSS2 = "boss@insurer.example.com", "boss2@insurer.example.com"
#: The active managers' addresses, sorted.
BOSSES = sorted([BOSS, BOSS2])

#: A real SMTP server in process, the app configured to send to it (test_notify's fixture).
smtp = test_notify.smtp


def _set(engine, username: str, **values) -> None:
    with db.session_scope(engine) as s:
        s.execute(sa.update(User).where(User.username == username).values(**values))


@pytest.fixture
def staffed(engine, users):
    """Inquiries in the week; two active managers with an address, a deactivated manager with
    one, an active manager without one, a staff member and a company with one."""
    people = [users["staff"].id, users["manager"].id, None]
    make_inquiries(users, n=60, first_day=date(2026, 11, 20), days=10, assignees=people)
    with db.session_scope(engine) as s:
        for name in ("boss2", "retired", "nomail"):
            accounts.create_user(
                s, username=name, password=PASSWORD, role="manager", display_name=name.upper()
            )
    _set(engine, "manager", email=BOSS)
    _set(engine, "boss2", email=BOSS2)
    _set(engine, "retired", email="retired@insurer.example.com", is_active=False)
    _set(engine, "staff", email="staff@insurer.example.com")
    _set(engine, "company", email="company@example.com")
    return users


def _queued(engine) -> list[Notification]:
    with db.session_scope(engine, write=False) as s:
        return list(s.exec(select(Notification).order_by(Notification.recipient)))


def test_report_mail_goes_to_every_active_manager_with_the_file_attached(
    engine, staffed, smtp, tmp_path, capsys
):
    out = tmp_path / "week.html"
    argv = ["report", *WEEK, "--out", str(out), "--mail", "--as", "manager"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "共 2 封" in printed and all(address in printed for address in BOSSES)

    rows = _queued(engine)
    assert [r.recipient for r in rows] == BOSSES
    for row in rows:
        assert (row.kind, row.state, row.inquiry_id, row.subject) == (
            "report",
            "pending",
            None,
            SUBJECT,
        )
        assert (row.attachment_name, row.attachment_type) == (FILE_NAME, "text/html")
    file_text = out.read_text(encoding="utf-8")
    assert bytes(rows[0].attachment).decode("utf-8") == file_text

    # deliver_due, not run_once: the week's inquiries are overdue by now, which is another mail.
    delivery = mailer.deliver_due(engine)
    assert (delivery.sent, delivery.retrying, delivery.failed) == (2, 0, 0)
    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == BOSSES
    for received in smtp.received:
        msg = received.message
        assert msg["Subject"] == SUBJECT
        text, body_html = received.part("plain"), received.part("html")
        for words in ("概览", "本期新增", "人员工作量"):
            assert words in text and words in body_html
        [attached] = list(msg.iter_attachments())
        assert attached.get_content_type() == "text/html"
        assert attached.get_filename() == FILE_NAME
        # The file name is RFC 2231-encoded (UTF-8, percent-escaped), not raw bytes in a header.
        assert re.search(rb"filename\*0?\*=utf-8''%E7%BB%9F", received.raw)
        content = attached.get_content()
        assert content == file_text
        page = Page(content)
        assert len(page.named("svg")) >= 3 and page.named("script") == []
        words = "".join(page.text)
        assert re.search(r"本期新增 [\d,]+ 条咨询", words)
        assert "2026-11-23 至 2026-11-29" in words
    # Sent is sent.
    assert mailer.deliver_due(engine).sent == 0
    assert {r.state for r in _queued(engine)} == {"sent"}


def test_mail_without_out_queues_only(engine, staffed, tmp_path, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert cli.main(["report", *WEEK, "--mail", "--as", "boss2"]) == 0
    assert list(here.iterdir()) == []
    assert "已生成" not in capsys.readouterr().out
    assert [r.recipient for r in _queued(engine)] == BOSSES


def test_the_only_active_manager_needs_no_as_and_gets_it(engine, users, smtp, tmp_path, capsys):
    _set(engine, "manager", email=BOSS)
    assert cli.main(["report", *WEEK, "--mail"]) == 0
    assert "共 1 封" in capsys.readouterr().out
    assert mailer.deliver_due(engine).sent == 1
    [received] = smtp.received
    assert received.rcpt_tos == [BOSS] and received.message["Subject"] == SUBJECT


def test_no_active_manager_with_an_address_is_said_and_queues_nothing(
    engine, users, tmp_path, capsys
):
    _set(engine, "staff", email="staff@insurer.example.com")
    out = tmp_path / "week.html"
    assert cli.main(["report", *WEEK, "--out", str(out), "--mail"]) == 2
    err = capsys.readouterr().err
    assert "没有可接收报告的管理人员" in err and "邮箱" in err
    assert _queued(engine) == []
    assert out.exists()  # the file was asked for, and made


def test_a_report_that_fails_to_build_queues_nothing(engine, staffed, monkeypatch, tmp_path):
    def broken(report):
        raise RuntimeError("vl-convert failed")

    monkeypatch.setattr(report_file, "render", broken)
    with pytest.raises(RuntimeError):
        cli.main(["report", *WEEK, "--out", str(tmp_path / "w.html"), "--mail", "--as", "boss2"])
    assert _queued(engine) == []
    assert not (tmp_path / "w.html").exists()


def test_the_rows_are_one_transaction_all_or_none(engine, staffed, monkeypatch):
    """A failure while queueing the second manager's mail takes the first one's back too."""
    real = notify.report_mail

    def second_fails(report, manager):
        if manager.username == "boss2":
            raise RuntimeError("disk full")
        return real(report, manager)

    monkeypatch.setattr(notify, "report_mail", second_fails)
    manager = staffed["manager"]
    with db.session_scope(engine, write=False) as s:
        made = report_file.build(
            s, ReportFilter(date(2026, 11, 23), date(2026, 11, 29)), actor=manager
        )
    with pytest.raises(RuntimeError), db.session_scope(engine) as s:
        notify.queue_report(s, actor=manager, report=made)
    assert _queued(engine) == []


def test_only_an_active_manager_queues_the_report(engine, staffed):
    flt = ReportFilter(date(2026, 11, 23), date(2026, 11, 29))
    with db.session_scope(engine, write=False) as s:
        made = report_file.build(s, flt, actor=staffed["manager"])
    for who in ("staff", "admin"):
        with pytest.raises(NotAllowed), db.session_scope(engine) as s:
            notify.queue_report(s, actor=staffed[who], report=made)
    _set(engine, "manager", is_active=False)
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        notify.queue_report(s, actor=staffed["manager"], report=made)
    assert _queued(engine) == []


def test_the_outbox_page_lists_the_report_by_kind_with_its_file(engine, staffed):
    assert cli.main(["report", *WEEK, "--mail", "--as", "manager"]) == 0
    with db.session_scope(engine, write=False) as s:
        entries = outbox.outbox(s, actor=staffed["admin"], kind="report")
        counts = outbox.outbox_counts(s, actor=staffed["admin"], kind="report")
    assert sorted(e.recipient for e in entries) == BOSSES
    assert {(e.attachment_name, e.serial) for e in entries} == {(FILE_NAME, None)}
    assert counts["pending"] == 2
    assert NOTIFICATION_KIND_LABELS["report"] == "统计报告"


@pytest.mark.parametrize(
    ("start", "end", "intents", "province", "subject"),
    [
        ("2026-11-23", "2026-11-29", (), None, "投保咨询周报 2026-11-23 至 2026-11-29"),
        ("2026-11-01", "2026-11-30", (), None, "投保咨询月报 2026-11-01 至 2026-11-30"),
        ("2026-02-01", "2026-02-28", (), None, "投保咨询月报 2026-02-01 至 2026-02-28"),
        ("2026-11-24", "2026-11-30", (), None, "投保咨询报告 2026-11-24 至 2026-11-30"),
        (
            "2026-11-23",
            "2026-11-29",
            ("insure",),
            "440000",
            "投保咨询周报 2026-11-23 至 2026-11-29（我要投保、广东省）",
        ),
    ],
)
def test_the_subject_names_the_period_and_the_filters(start, end, intents, province, subject):
    flt = ReportFilter(date.fromisoformat(start), date.fromisoformat(end), intents, province)
    assert notify.report_subject(flt) == subject
