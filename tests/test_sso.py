"""Single sign-on: the identity → account mapping, and the whole st.login round trip against a
local mock OIDC provider (oidc-provider-mock) started by the test.

Only the insurer's people (staff, manager, admin) log in this way, matched by e-mail to exactly one
active account; unknown, unverified, ambiguous, inactive or enterprise identities get no access.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from dashboard import accounts, db, sso
from models import AccountEvent

STAFF_EMAIL = "li.staff@insurer.example"


def _map(engine, email, verified=True):
    with db.session_scope(engine) as s:
        user = sso.user_for_identity(s, email=email, email_verified=verified)
        return user.username if user else None


def _set_email(engine, users, username, email):
    with db.session_scope(engine) as s:
        user = s.get(type(users[username]), users[username].id)
        user.email = email
        s.add(user)


@pytest.fixture
def mapped(engine, users):
    _set_email(engine, users, "staff", STAFF_EMAIL)
    _set_email(engine, users, "manager", "wang.manager@insurer.example")
    _set_email(engine, users, "admin", "root@insurer.example")
    _set_email(engine, users, "company", "boss@jia.example")
    return users


def test_a_known_staff_email_maps_to_its_account_and_role(engine, mapped):
    assert _map(engine, STAFF_EMAIL) == "staff"
    assert _map(engine, "wang.manager@insurer.example") == "manager"
    assert _map(engine, "root@insurer.example") == "admin"


def test_email_matching_ignores_case_and_surrounding_spaces(engine, mapped):
    assert _map(engine, "  LI.Staff@Insurer.EXAMPLE ") == "staff"


@pytest.mark.parametrize(
    "email",
    [None, "", "   ", "not-an-email", "nobody@insurer.example", "li.staff@insurer.example.evil"],
)
def test_unknown_identities_get_no_access(engine, mapped, email):
    assert _map(engine, email) is None


def test_an_unverified_email_gets_no_access(engine, mapped):
    assert _map(engine, STAFF_EMAIL, verified=False) is None
    assert _map(engine, STAFF_EMAIL, verified=None) == "staff"  # provider does not say


def test_enterprise_accounts_never_log_in_by_sso(engine, mapped):
    assert _map(engine, "boss@jia.example") is None


def test_a_deactivated_account_gets_no_access(engine, mapped):
    with db.session_scope(engine) as s:
        accounts.set_active(s, actor=mapped["admin"], user_id=mapped["staff"].id, active=False)
    assert _map(engine, STAFF_EMAIL) is None


def test_an_email_shared_by_two_accounts_gets_no_access(engine, mapped):
    _set_email(engine, mapped, "staff2", STAFF_EMAIL.upper())
    assert _map(engine, STAFF_EMAIL) is None


def test_role_changes_apply_at_the_next_sso_login(engine, mapped):
    with db.session_scope(engine) as s:
        accounts.set_role(s, actor=mapped["admin"], user_id=mapped["staff"].id, role="manager")
    with db.session_scope(engine) as s:
        user = sso.user_for_identity(s, email=STAFF_EMAIL)
        assert user.role == "manager"


def test_every_sso_outcome_is_recorded(engine, mapped):
    _map(engine, STAFF_EMAIL)
    _map(engine, "nobody@insurer.example")
    with db.session_scope(engine, write=False) as s:
        events = [(e.action, e.user_id) for e in s.exec(select(AccountEvent))]
    assert ("sso_login", mapped["staff"].id) in events
    assert ("sso_refused", None) in events
