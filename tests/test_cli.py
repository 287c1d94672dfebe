"""The command line: init-db, seed (deterministic, valid data) and create-user."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import sqlalchemy as sa
from sqlmodel import select

from dashboard import __main__ as cli
from dashboard import accounts, db, seed
from models import AccountEvent, Inquiry, InquiryForm, User


def test_init_db_creates_the_schema(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "init-db"],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": url, "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine = db.create_engine(url)
    assert "inquiry" in sa.inspect(engine).get_table_names()


def test_seed_makes_valid_inquiries_with_unique_serials(engine, capsys):
    assert cli.main(["seed", "--rows", "1500", "--seed", "7", "--quiet"]) == 0
    assert "1,500" in capsys.readouterr().out
    with db.session_scope(engine) as s:
        rows = s.exec(select(Inquiry)).all()
    assert len(rows) == 1500
    serials = [r.serial for r in rows]
    assert len(set(serials)) == 1500
    assert all(re.fullmatch(r"\d{18}", x) for x in serials)
    for row in rows[::25]:
        assert InquiryForm.from_inquiry(row).errors() == {}, row
    statuses = {r.status for r in rows}
    assert statuses == {"draft", "submitted", "completed"}
    assert {r.intent for r in rows} == {"insure", "buyer_credit", "other"}
    weekdays = [r.created_at.weekday() for r in rows]
    assert sum(d < 5 for d in weekdays) > 3 * sum(d >= 5 for d in weekdays)
    for row in rows:
        if row.status == "completed":
            assert row.created_at <= row.submitted_at <= row.completed_at


def test_seed_is_deterministic(engine, tmp_path):
    from datetime import UTC, datetime

    end = datetime(2026, 6, 1, tzinfo=UTC)
    other = db.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    db.migrate(other)
    seed.seed(engine, rows=300, seed=3, end=end)
    seed.seed(other, rows=300, seed=3, end=end)

    def dump(e):
        with e.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT serial, company_name, province_code, mobile, status FROM inquiry ORDER BY id"
                )
            ).all()

    assert dump(engine) == dump(other)


def test_create_user_reads_the_password_from_stdin(engine, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password-1\n"))
    code = cli.main(
        ["create-user", "li", "--role", "enterprise", "--company", "李氏贸易", "--password-stdin"]
    )
    assert code == 0
    with db.session_scope(engine) as s:
        user = accounts.authenticate(s, username="li", password="a-long-password-1")
    assert user is not None and user.role == "enterprise" and user.company_name == "李氏贸易"


def test_create_user_reports_bad_input(engine, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["create-user", "li", "--role", "staff", "--password-stdin"]) == 2
    assert "密码" in capsys.readouterr().err
    with db.session_scope(engine) as s:
        assert s.exec(select(User)).all() == []


# --------------------------------------------------------------------------------------------
# Account commands


def _user(engine, username):
    with db.session_scope(engine, write=False) as s:
        return accounts.get_by_username(s, username)


def _make(engine, username, role, company=None):
    with db.session_scope(engine) as s:
        accounts.create_user(
            s, username=username, password="a-long-password-1", role=role, company_name=company
        )


def test_set_role_deactivate_and_activate_from_the_console(engine, capsys):
    _make(engine, "boss", "admin")
    _make(engine, "ops", "staff")
    assert cli.main(["set-role", "ops", "manager"]) == 0
    assert _user(engine, "ops").role == "manager"
    assert cli.main(["deactivate", "ops"]) == 0
    assert not _user(engine, "ops").is_active
    assert cli.main(["activate", "ops"]) == 0
    assert _user(engine, "ops").is_active
    assert cli.main(["list-users"]) == 0
    out = capsys.readouterr().out
    assert "ops\tmanager\t在用" in out and "boss\tadmin" in out
    with db.session_scope(engine, write=False) as s:
        actions = [e.action for e in s.exec(select(AccountEvent).order_by(AccountEvent.id))]
    assert actions[-3:] == ["role_changed", "deactivated", "activated"]


def test_the_console_cannot_remove_the_last_admin(engine, capsys):
    _make(engine, "boss", "admin")
    assert cli.main(["deactivate", "boss"]) == 2
    assert "最后一个" in capsys.readouterr().err
    assert cli.main(["set-role", "boss", "staff"]) == 2
    assert _user(engine, "boss").is_active and _user(engine, "boss").role == "admin"


def test_unknown_usernames_are_reported(engine, capsys):
    assert cli.main(["deactivate", "ghost"]) == 2
    assert "ghost" in capsys.readouterr().err


def test_reset_password_reads_stdin_and_checks_the_policy(engine, monkeypatch, capsys):
    _make(engine, "ops", "staff")
    monkeypatch.setattr(sys, "stdin", io.StringIO("qwerty12345\n"))
    assert cli.main(["reset-password", "ops", "--password-stdin"]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("fresh-harbour-19\n"))
    assert cli.main(["reset-password", "ops", "--password-stdin"]) == 0
    with db.session_scope(engine) as s:
        user = accounts.authenticate(s, username="ops", password="fresh-harbour-19")
    assert user is not None and not user.must_change_password


def test_reset_password_one_time_prints_it_once_and_forces_a_change(engine, capsys):
    _make(engine, "ops", "staff")
    assert cli.main(["reset-password", "ops", "--one-time"]) == 0
    generated = capsys.readouterr().out.rsplit("：", 1)[1].strip()
    with db.session_scope(engine) as s:
        user = accounts.authenticate(s, username="ops", password=generated)
    assert user is not None and user.must_change_password


def test_passwords_are_never_command_line_arguments():
    import argparse

    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            names = " ".join(action.option_strings + [action.dest])
            if "password" in names:
                assert action.nargs == 0, (name, names)  # flags only, never a value
