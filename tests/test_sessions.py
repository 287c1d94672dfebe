"""Logins kept in the database (``dashboard.sessions``): pickup, expiry, revocation, hashing. On
both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dashboard import accounts, db, sessions
from dashboard.settings import get_settings
from models import UserSession, utcnow


def _start(user, now=None):
    with db.session_scope() as s:
        return sessions.start(s, user=user, now=now)


def _pick_up(pickup, now=None):
    with db.session_scope() as s:
        return sessions.pick_up(s, pickup, now=now)


def _resume(token, now=None):
    with db.session_scope(write=False) as s:
        return sessions.resume(s, token, now=now)


def _current(session_id, now=None):
    with db.session_scope(write=False) as s:
        return sessions.current(s, session_id, now=now)


def _rows():
    with db.session_scope(write=False) as s:
        return s.exec(select(UserSession)).all()


def test_the_database_holds_only_hashes_of_256_bit_tokens(users):
    started = _start(users["staff"])
    token = _pick_up(started.pickup)
    assert token and len(sessions.new_token()) >= 43  # 32 bytes, URL-safe base64
    (row,) = _rows()
    assert row.token_hash == sessions.digest(token) and row.pickup_hash is None
    assert token not in (row.token_hash, row.pickup_hash)
    found = _resume(token)
    assert found.user.id == users["staff"].id and found.session_id == started.session_id
    assert found.picked_up
    assert _resume(sessions.digest(token)).user is None  # the stored hash logs nobody in


def test_a_pickup_code_works_once_and_only_for_a_short_while(users):
    started = _start(users["staff"])
    assert _pick_up(started.pickup) is not None
    assert _pick_up(started.pickup) is None  # used
    late = _start(users["staff"])
    assert (
        _pick_up(late.pickup, now=utcnow() + timedelta(seconds=sessions.PICKUP_SECONDS + 1)) is None
    )
    assert _pick_up("") is None and _pick_up("x" * 500) is None and _pick_up("unknown") is None


def test_every_login_is_a_new_session_with_a_new_token(users):
    first, second = _start(users["staff"]), _start(users["staff"])
    assert first.session_id != second.session_id and first.pickup != second.pickup
    tokens = {_pick_up(first.pickup), _pick_up(second.pickup)}
    assert len(tokens) == 2 and None not in tokens


def test_the_idle_timeout_and_the_absolute_lifetime_end_a_session(users, monkeypatch):
    monkeypatch.setenv("DASHBOARD_IDLE_MINUTES", "30")
    monkeypatch.setenv("DASHBOARD_SESSION_HOURS", "8")
    get_settings.cache_clear()
    now = utcnow()
    started = _start(users["staff"], now=now)
    token = _pick_up(started.pickup, now=now)
    assert _current(started.session_id, now=now + timedelta(minutes=29)).user is not None
    idle = _current(started.session_id, now=now + timedelta(minutes=31))
    assert idle.user is None and idle.reason == "idle"
    assert _resume(token, now=now + timedelta(minutes=31)).reason == "idle"
    # Active all the time, it still ends after its lifetime.
    t = now
    while t < now + timedelta(hours=8) - timedelta(minutes=20):
        t += timedelta(minutes=20)
        assert _current(started.session_id, now=t).user is not None
        with db.session_scope() as s:
            sessions.touch(s, started.session_id, now=t)
    ended = _current(started.session_id, now=now + timedelta(hours=8, seconds=1))
    assert ended.user is None and ended.reason == "ended"


def test_activity_is_written_at_most_once_a_minute(users):
    now = utcnow()
    started = _start(users["staff"], now=now)
    assert not _current(started.session_id, now=now + timedelta(seconds=30)).stale
    assert _current(started.session_id, now=now + timedelta(seconds=61)).stale


def test_logout_ends_the_session_for_every_tab_holding_it(users):
    started = _start(users["staff"])
    token = _pick_up(started.pickup)
    with db.session_scope() as s:
        sessions.end_by_token(s, token)
    assert _current(started.session_id).reason == "ended"
    assert _resume(token).user is None


@pytest.mark.parametrize(
    "change",
    [
        lambda s, admin, user: accounts.set_active(s, actor=admin, user_id=user.id, active=False),
        lambda s, admin, user: accounts.set_role(s, actor=admin, user_id=user.id, role="manager"),
        lambda s, admin, user: accounts.reset_password(s, actor=admin, user_id=user.id),
        lambda s, admin, user: accounts.reset_password(
            s, actor=admin, user_id=user.id, password="另一个足够长的密码2026"
        ),
    ],
    ids=["deactivated", "role changed", "one-time password", "password set"],
)
def test_an_administrators_change_ends_every_session_of_the_user(users, change):
    staff, other = users["staff"], users["staff2"]
    mine = [_start(staff), _start(staff)]
    theirs = _start(other)
    tokens = [_pick_up(m.pickup) for m in mine]
    with db.session_scope() as s:
        change(s, users["admin"], staff)
    for started, token in zip(mine, tokens, strict=True):
        assert _current(started.session_id).user is None
        assert _resume(token).user is None
    assert _current(theirs.session_id).user.id == other.id


def test_changing_ones_password_ends_the_other_sessions_but_not_this_one(users):
    from tests.conftest import PASSWORD

    staff = users["staff"]
    here, elsewhere = _start(staff), _start(staff)
    with db.session_scope() as s:
        accounts.change_password(
            s,
            actor=staff,
            current_password=PASSWORD,
            new_password="我的新密码足够长2026",
            keep_session=here.session_id,
        )
    assert _current(here.session_id).user is not None
    assert _current(elsewhere.session_id).user is None


def test_a_session_whose_change_rolled_back_survives(users):
    staff = users["staff"]
    started = _start(staff)
    with pytest.raises(RuntimeError), db.session_scope() as s:
        accounts.set_active(s, actor=users["admin"], user_id=staff.id, active=False)
        raise RuntimeError("the transaction fails after the change")
    assert _current(started.session_id).user is not None


def test_starting_a_session_clears_the_dead_ones(users):
    now = utcnow()
    _start(users["staff"], now=now - timedelta(days=2))
    _start(users["staff"], now=now - timedelta(minutes=5))
    _start(users["staff"], now=now)
    assert sorted(r.created_at for r in _rows()) == [now - timedelta(minutes=5), now]
