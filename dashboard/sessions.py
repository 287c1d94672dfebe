"""Logins kept in the database (table ``user_session``), so that a reload, a new tab or another
app process finds the login again.

The browser holds a random 256-bit token in an HttpOnly cookie (``COOKIE``); the database holds
only its SHA-256, so a copy of the table logs nobody in. The Streamlit script cannot set an
HTTP cookie, so a login goes in two steps:

1. ``start`` (after the password or single sign-on was checked) creates the session and returns
   a one-time pickup code, valid for ``PICKUP_SECONDS``;
2. the page POSTs that code to ``/auth/session`` (``dashboard/server.py``), where ``pick_up``
   trades it, once, for a new token that only the Set-Cookie header carries.

The token is made at pickup and every login makes a new session, so no token chosen or seen
before the login is ever accepted (no fixation). A session ends when its row is deleted: 退出登录
(in every tab at once, as they share it), the idle timeout, the absolute lifetime, or an
administrator deactivating the account, changing its role or its password (``end_all``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, select

from dashboard.settings import get_settings
from models import User, UserSession, utcnow

COOKIE = "inq_session"
PICKUP_SECONDS = 120
#: ``last_seen_at`` is written at most this often: the idle timeout counts in minutes, and a
#: write on every click would take SQLite's write lock for nothing.
TOUCH_EVERY = timedelta(seconds=60)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe (a cookie value needs no quoting)."""
    return secrets.token_urlsafe(32)


def _limits(now: datetime) -> tuple[datetime, datetime]:
    """(expires_at for a session started now, the last_seen_at before which a session is idle)"""
    settings = get_settings()
    return (
        now + timedelta(hours=settings.session_hours),
        now - timedelta(minutes=settings.session_idle_minutes),
    )


@dataclass(frozen=True)
class Started:
    session_id: int
    #: The one-time code the page trades for its cookie (``pick_up``).
    pickup: str


def start(session: Session, *, user: User, now: datetime | None = None) -> Started:
    """A new session for ``user``, whose password (or identity) was just checked."""
    now = now or utcnow()
    expires_at, idle_before = _limits(now)
    # Housekeeping: sessions that can no longer be used go when a new one comes.
    session.exec(
        delete(UserSession).where(
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= idle_before)
        )
    )
    pickup = new_token()
    row = UserSession(
        user_id=user.id,
        pickup_hash=digest(pickup),
        pickup_until=now + timedelta(seconds=PICKUP_SECONDS),
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return Started(session_id=row.id, pickup=pickup)


def pick_up(session: Session, pickup: str, *, now: datetime | None = None) -> str | None:
    """The cookie token for a pickup code, once; None for an unknown, used or stale code."""
    if not pickup or len(pickup) > 128:
        return None
    now = now or utcnow()
    token = new_token()
    result = session.exec(
        update(UserSession)
        .where(
            UserSession.pickup_hash == digest(pickup),
            UserSession.pickup_until > now,
            UserSession.expires_at > now,
        )
        .values(token_hash=digest(token), pickup_hash=None, pickup_until=None)
    )
    return token if result.rowcount == 1 else None


@dataclass(frozen=True)
class Lookup:
    """A session as the database holds it now."""

    user: User | None
    session_id: int | None = None
    #: Why there is no user: "idle" (the idle timeout), or "ended" (logged out, expired, or the
    #: account was changed by an administrator).
    reason: str | None = None
    #: Whether ``last_seen_at`` is old enough to be written again (``touch``).
    stale: bool = False
    #: Whether the browser has fetched its cookie.
    picked_up: bool = False


def _check(session: Session, row: UserSession | None, now: datetime) -> Lookup:
    if row is None:
        return Lookup(None, reason="ended")
    _, idle_before = _limits(now)
    if row.expires_at <= now:
        return Lookup(None, reason="ended")
    if row.last_seen_at <= idle_before:
        return Lookup(None, reason="idle")
    user = session.get(User, row.user_id, populate_existing=True)
    if user is None or not user.is_active:
        return Lookup(None, reason="ended")
    return Lookup(
        user,
        session_id=row.id,
        stale=now - row.last_seen_at >= TOUCH_EVERY,
        picked_up=row.token_hash is not None,
    )


def current(session: Session, session_id: int, *, now: datetime | None = None) -> Lookup:
    """The session ``session_id`` (held by a browser tab) and its user, if still valid."""
    row = session.get(UserSession, session_id, populate_existing=True)
    return _check(session, row, now or utcnow())


def resume(session: Session, token: str | None, *, now: datetime | None = None) -> Lookup:
    """The session whose cookie token is ``token`` (a reload, a new tab, another process)."""
    if not token or len(token) > 128:
        return Lookup(None, reason=None)
    row = session.exec(select(UserSession).where(UserSession.token_hash == digest(token))).first()
    if row is None:
        return Lookup(None, reason=None)
    return _check(session, row, now or utcnow())


def touch(session: Session, session_id: int, *, now: datetime | None = None) -> None:
    """Record activity (the idle timeout counts from here)."""
    session.exec(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now or utcnow())
    )


def end(session: Session, session_id: int) -> None:
    session.exec(delete(UserSession).where(UserSession.id == session_id))


def end_by_token(session: Session, token: str | None) -> None:
    if token and len(token) <= 128:
        session.exec(delete(UserSession).where(UserSession.token_hash == digest(token)))


def end_all(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """End every session of a user (but ``keep``); returns how many ended."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    return session.exec(statement).rowcount


#: The most a page may keep unsaved: the entry form is a few hundred characters.
UNSAVED_LIMIT = 64_000


def keep_unsaved(session: Session, session_id: int, data: str | None) -> None:
    """Keep (or, with None, forget) what a page of this login has not saved yet."""
    if data is not None and len(data) > UNSAVED_LIMIT:
        return
    session.exec(update(UserSession).where(UserSession.id == session_id).values(unsaved=data))


def unsaved(session: Session, session_id: int) -> str | None:
    """What a page of this login had not saved when it was last drawn (a reload finds it)."""
    return session.exec(select(UserSession.unsaved).where(UserSession.id == session_id)).first()
