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
from models import Inquiry, InquiryForm, User


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
