"""Accounts: hashing, authentication that reveals nothing, failed-login counting and locks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dashboard import accounts, db
from dashboard.errors import FormInvalid, NotAllowed, NotFound
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


# --------------------------------------------------------------------------------------------
# Password policy


@pytest.mark.parametrize(
    "password",
    [
        "short",
        "password123",
        "Password2026!",
        "1234567890",
        "qwertyuiop",
        "aaaaaaaaaaaa",
        "woaini1314520",
        "demo-pass-2026",
        "iloveyou!!!!",
    ],
)
def test_short_and_common_passwords_are_refused(password):
    assert accounts.password_problem(password) is not None


def test_a_password_containing_the_username_is_refused():
    assert accounts.password_problem("zhangsan-secret-9", username="zhangsan") is not None
    assert accounts.password_problem("zhangsan-secret-9", username="lisi") is None


def test_the_common_password_list_ships_with_the_package():
    common = accounts.common_passwords()
    assert len(common) > 5000
    assert {"password", "123456789", "qwerty123", "woaini1314"} <= common


def test_generated_passwords_pass_the_policy_and_differ():
    generated = {accounts.generate_password() for _ in range(20)}
    assert len(generated) == 20
    assert all(accounts.password_problem(p) is None for p in generated)


# --------------------------------------------------------------------------------------------
# Administration


def _user(engine, username):
    with db.session_scope(engine, write=False) as s:
        return accounts.get_by_username(s, username)


def _events(engine, user_id):
    with db.session_scope(engine, write=False) as s:
        return [
            (e.action, e.actor_id, e.detail)
            for e in s.exec(
                select(AccountEvent)
                .where(AccountEvent.user_id == user_id)
                .order_by(AccountEvent.id)
            )
        ]


def test_admin_creates_a_user_with_a_one_time_password_that_must_be_changed(engine, users):
    with db.session_scope(engine) as s:
        user, generated = accounts.add_user(
            s, actor=users["admin"], username="newbie", role="staff", email="New@Example.com"
        )
    assert generated and user.must_change_password and user.email == "new@example.com"
    assert ("created", users["admin"].id, "role=staff") in _events(engine, user.id)
    logged_in = _auth(engine, "newbie", generated)
    assert logged_in is not None and logged_in.must_change_password
    with db.session_scope(engine) as s:
        with pytest.raises(FormInvalid) as err:
            accounts.change_password(
                s, actor=logged_in, current_password=generated, new_password="password123"
            )
        assert "new_password" in err.value.errors
    with db.session_scope(engine) as s:
        accounts.change_password(
            s, actor=logged_in, current_password=generated, new_password="my-own-choice-42"
        )
    assert not _user(engine, "newbie").must_change_password
    assert _auth(engine, "newbie", generated) is None
    assert _auth(engine, "newbie", "my-own-choice-42") is not None


def test_admin_can_type_the_password_and_it_is_checked(engine, users):
    with db.session_scope(engine) as s:
        user, generated = accounts.add_user(
            s, actor=users["admin"], username="typist", role="manager", password="typed-by-admin-7"
        )
    assert generated is None and not user.must_change_password
    with pytest.raises(FormInvalid), db.session_scope(engine) as s:
        accounts.add_user(
            s, actor=users["admin"], username="weak", role="staff", password="qwerty12345"
        )
    assert _user(engine, "weak") is None


@pytest.mark.parametrize("role", ["enterprise", "staff", "manager"])
def test_only_admins_administer_accounts(engine, users, role):
    actor = next(u for u in users.values() if u.role == role)
    target = users["staff2"].id
    calls = [
        lambda s: accounts.list_users(s, actor=actor),
        lambda s: accounts.add_user(s, actor=actor, username="x", role="admin"),
        lambda s: accounts.set_role(s, actor=actor, user_id=target, role="admin"),
        lambda s: accounts.set_role(s, actor=actor, user_id=actor.id, role="admin"),
        lambda s: accounts.set_active(s, actor=actor, user_id=target, active=False),
        lambda s: accounts.reset_password(s, actor=actor, user_id=target),
        lambda s: accounts.recent_events(s, actor=actor),
    ]
    for call in calls:
        with pytest.raises(NotAllowed), db.session_scope(engine) as s:
            call(s)
    assert _user(engine, actor.username).role == role
    assert _user(engine, "staff2").is_active


def test_role_changes_and_deactivation_are_audited_with_the_actor(engine, users):
    admin, target = users["admin"], users["staff2"]
    with db.session_scope(engine) as s:
        accounts.set_role(s, actor=admin, user_id=target.id, role="manager")
        accounts.set_active(s, actor=admin, user_id=target.id, active=False)
    assert _user(engine, "staff2").role == "manager"
    assert _auth(engine, "staff2", PASSWORD) is None
    with db.session_scope(engine) as s:
        accounts.set_active(s, actor=admin, user_id=target.id, active=True)
    assert _auth(engine, "staff2", PASSWORD) is not None
    events = [(a, actor) for a, actor, _ in _events(engine, target.id)]
    assert ("role_changed", admin.id) in events
    assert ("deactivated", admin.id) in events and ("activated", admin.id) in events


def test_an_admin_cannot_deactivate_or_demote_themselves(engine, users):
    admin = users["admin"]
    with db.session_scope(engine) as s:  # a second admin exists, so only "self" is the reason
        accounts.add_user(s, actor=admin, username="admin2", role="admin")
    for call in (
        lambda s: accounts.set_active(s, actor=admin, user_id=admin.id, active=False),
        lambda s: accounts.set_role(s, actor=admin, user_id=admin.id, role="staff"),
    ):
        with pytest.raises(NotAllowed, match="自己"), db.session_scope(engine) as s:
            call(s)
    user = _user(engine, "admin")
    assert user.is_active and user.role == "admin"


def test_the_last_active_admin_always_stays(engine, users):
    admin = users["admin"]
    with db.session_scope(engine) as s:
        admin2, _ = accounts.add_user(s, actor=admin, username="admin2", role="admin")
    with db.session_scope(engine) as s:
        accounts.set_active(s, actor=admin2, user_id=admin.id, active=False)
    # admin2 is now the last one: the console (actor=accounts.Operator("tests")) cannot remove them either.
    for call in (
        lambda s: accounts.set_active(
            s, actor=accounts.Operator("tests"), user_id=admin2.id, active=False
        ),
        lambda s: accounts.set_role(
            s, actor=accounts.Operator("tests"), user_id=admin2.id, role="manager"
        ),
    ):
        with pytest.raises(NotAllowed, match="最后一个"), db.session_scope(engine) as s:
            call(s)
    assert _user(engine, "admin2").is_active and _user(engine, "admin2").role == "admin"


def test_a_deactivated_admin_cannot_administer(engine, users):
    admin = users["admin"]
    with db.session_scope(engine) as s:
        admin2, _ = accounts.add_user(s, actor=admin, username="admin2", role="admin")
        accounts.set_active(s, actor=admin2, user_id=admin.id, active=False)
    stale = _user(engine, "admin")
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        accounts.set_role(s, actor=stale, user_id=users["staff"].id, role="admin")


def test_demoting_to_enterprise_needs_a_company(engine, users):
    with pytest.raises(FormInvalid), db.session_scope(engine) as s:
        accounts.set_role(s, actor=users["admin"], user_id=users["staff"].id, role="enterprise")
    with pytest.raises(FormInvalid), db.session_scope(engine) as s:
        accounts.set_role(s, actor=users["admin"], user_id=users["staff"].id, role="root")


def test_reset_password_lifts_the_lock_and_forces_a_change(engine, users):
    now = utcnow()
    for i in range(5):
        _auth(engine, "staff", "wrong", now + timedelta(seconds=i))
    assert _auth(engine, "staff", PASSWORD) is None  # locked
    with db.session_scope(engine) as s:
        generated = accounts.reset_password(s, actor=users["admin"], user_id=users["staff"].id)
    user = _auth(engine, "staff", generated)
    assert user is not None and user.must_change_password
    assert ("password_reset", users["admin"].id, "one-time password") in _events(
        engine, users["staff"].id
    )
    with pytest.raises(FormInvalid), db.session_scope(engine) as s:
        accounts.reset_password(
            s, actor=users["admin"], user_id=users["staff"].id, password="1234567890"
        )


def test_unknown_users_are_not_found(engine, users):
    with pytest.raises(NotFound), db.session_scope(engine) as s:
        accounts.set_active(s, actor=users["admin"], user_id=999_999, active=False)


# --------------------------------------------------------------------------------------------
# Self-registration


def test_registration_creates_an_enterprise_account_only(engine):
    with db.session_scope(engine) as s:
        user = accounts.register_company(
            s,
            username="exporter",
            password="trade-window-77",
            password_again="trade-window-77",
            company_name="丙公司",
            email="boss@bing.example.com",
        )
    assert user.role == "enterprise" and user.company_name == "丙公司"
    assert "registered" in [a for a, *_ in _events(engine, user.id)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password_again": "something-else-1"}, "password_again"),
        ({"email": ""}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"company_name": " "}, "company_name"),
        ({"password": "password123", "password_again": "password123"}, "password"),
        ({"username": "staff"}, "username"),
    ],
)
def test_registration_refuses_bad_input_and_writes_nothing(engine, users, changes, field):
    values = dict(
        username="exporter",
        password="trade-window-77",
        password_again="trade-window-77",
        company_name="丙公司",
        email="boss@bing.example.com",
    )
    values.update(changes)
    with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
        accounts.register_company(s, **values)
    assert field in err.value.errors
    assert _user(engine, "exporter") is None


def test_registration_has_no_way_to_ask_for_a_role():
    import inspect

    assert "role" not in inspect.signature(accounts.register_company).parameters


def test_user_search_is_case_insensitive_literal_and_counted(engine, users):
    admin = users["admin"]
    with db.session_scope(engine, write=False) as s:
        assert [u.username for u in accounts.list_users(s, actor=admin, search="STAFF")] == [
            "staff",
            "staff2",
        ]
        assert accounts.list_users(s, actor=admin, search="%") == []  # no wildcard injection
        assert accounts.count_users(s, actor=admin, role="enterprise") == 2
        assert len(accounts.list_users(s, actor=admin, limit=3)) == 3
