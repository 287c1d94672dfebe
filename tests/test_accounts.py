"""Accounts: hashing, authentication that reveals nothing, failed-login counting and locks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dashboard import accounts, db
from dashboard.errors import FormInvalid
from models import AccountEvent, User, utcnow
from tests.conftest import PASSWORD


def _auth(engine, username, password, now=None):
    with db.session_scope(engine) as s:
        return accounts.authenticate(s, username=username, password=password, now=now)


def _actions(engine, user_id):
    with db.session_scope(engine) as s:
        return [
            e.action
            for e in s.exec(
                select(AccountEvent)
                .where(AccountEvent.user_id == user_id)
                .order_by(AccountEvent.id)
            )
        ]


def test_passwords_are_stored_as_argon2_hashes(engine, users):
    with db.session_scope(engine) as s:
        user = s.get(User, users["staff"].id)
    assert user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash


def test_right_password_logs_in_and_is_recorded(engine, users):
    user = _auth(engine, "staff", PASSWORD)
    assert user is not None and user.id == users["staff"].id
    assert user.last_login_at is not None
    assert _actions(engine, user.id)[-1] == "login"


@pytest.mark.parametrize(
    ("username", "password"), [("staff", "wrong"), ("nobody", PASSWORD), ("", ""), ("staff", "")]
)
def test_every_failure_looks_the_same(engine, users, username, password):
    assert _auth(engine, username, password) is None


def test_failures_are_counted_and_the_fifth_locks_the_account(engine, users):
    now = utcnow()
    for i in range(4):
        assert _auth(engine, "staff", "wrong", now + timedelta(seconds=i)) is None
    with db.session_scope(engine) as s:
        assert s.get(User, users["staff"].id).failed_logins == 4
    assert _auth(engine, "staff", "wrong", now + timedelta(seconds=5)) is None
    # Locked: even the right password is refused …
    assert _auth(engine, "staff", PASSWORD, now + timedelta(minutes=5)) is None
    # … until the lock expires.
    assert _auth(engine, "staff", PASSWORD, now + timedelta(minutes=16)) is not None
    actions = _actions(engine, users["staff"].id)
    assert actions.count("login_failed") == 5
    assert "locked" in actions and "login_refused_locked" in actions and "unlocked" in actions


def test_failures_outside_the_window_do_not_add_up(engine, users):
    now = utcnow()
    for i in range(4):
        _auth(engine, "staff", "wrong", now + timedelta(seconds=i))
    _auth(engine, "staff", "wrong", now + timedelta(minutes=20))
    assert _auth(engine, "staff", PASSWORD, now + timedelta(minutes=21)) is not None


def test_inactive_accounts_cannot_log_in(engine, users):
    with db.session_scope(engine) as s:
        s.get(User, users["staff"].id).is_active = False
    assert _auth(engine, "staff", PASSWORD) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "", "role": "staff"}, "username"),
        ({"username": "has space", "role": "staff"}, "username"),
        ({"username": "staff", "role": "staff"}, "username"),
        ({"username": "new", "role": "root"}, "role"),
        ({"username": "new", "role": "enterprise"}, "company_name"),
        ({"username": "new", "role": "staff", "password": "short"}, "password"),
    ],
)
def test_create_user_refuses_bad_input(engine, users, kwargs, field):
    kwargs.setdefault("password", "long-enough-password")
    with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
        accounts.create_user(s, **kwargs)
    assert field in err.value.errors
