"""What every page shares: the logged-in user, login and logout, cache clearing after writes.

The session holds one small object, ``Auth`` (user id and the time of the last activity); the
user row is re-read from the database on every run, so a deactivated account or a changed role
takes effect at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import streamlit as st

from dashboard import db, faults
from dashboard.settings import get_settings
from models import User, utcnow

AUTH_KEY = "auth"


@dataclass
class Auth:
    user_id: int
    last_seen: datetime


FREE_FAILURES = 3
MAX_COOLDOWN = timedelta(minutes=5)


@dataclass
class LoginThrottle:
    """Failed logins of one browser session.

    After ``FREE_FAILURES`` failures each further one starts a cool-down that doubles (5 s, 10 s,
    20 s … at most ``MAX_COOLDOWN``) during which the login form is not checked at all. It lives
    here, not in app.py, because classes defined in the main script are re-created on every run.
    """

    failures: int = 0
    blocked_until: datetime | None = None

    def wait_seconds(self, now: datetime) -> int:
        if self.blocked_until is None or self.blocked_until <= now:
            return 0
        return max(1, int((self.blocked_until - now).total_seconds() + 0.999))

    def failed(self, now: datetime) -> None:
        self.failures += 1
        if self.failures >= FREE_FAILURES:
            delay = timedelta(seconds=5 * 2 ** min(self.failures - FREE_FAILURES, 20))
            self.blocked_until = now + min(delay, MAX_COOLDOWN)


def current_user() -> User | None:
    """The logged-in, active user, or None (also after the idle timeout)."""
    auth: Auth | None = st.session_state.get(AUTH_KEY)
    if not isinstance(auth, Auth):
        return None
    now = utcnow()
    if now - auth.last_seen > timedelta(minutes=get_settings().session_idle_minutes):
        logout()
        st.session_state["login_notice"] = "由于长时间未操作，您已自动退出，请重新登录"
        return None
    with db.session_scope(write=False) as session:
        user = session.get(User, auth.user_id)
    if user is None or not user.is_active:
        logout()
        return None
    auth.last_seen = now
    return user


def login(user: User) -> None:
    st.session_state.clear()
    st.session_state[AUTH_KEY] = Auth(user_id=user.id, last_seen=utcnow())


def logout() -> None:
    """Forget everything of the user: the whole session state, cached query results and, for a
    single-sign-on session, the identity cookie (otherwise the next run would log in again)."""
    st.session_state.clear()
    st.cache_data.clear()
    if sso_logged_in():
        st.logout()


def sso_logged_in() -> bool:
    """True when this browser session carries a single-sign-on identity (``st.user``)."""
    try:
        return bool(st.user.get("is_logged_in", False))
    except Exception:  # no auth section, or no script context (bare-mode tests)
        return False


def require_role(*roles: str) -> User:
    """The current user if their role may see this page; otherwise stop the page."""
    user = current_user()
    if user is None or user.role not in roles:
        st.error("您没有访问此页面的权限")
        st.stop()
    return user


def clear_caches() -> None:
    """Call after every write so that lists, counts and reports show it on the next run."""
    st.cache_data.clear()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")


def md_escape(text: str | None) -> str:
    """User text made safe for widgets that render markdown (captions, messages): every markdown,
    HTML and LaTeX character is backslash-escaped, so it shows exactly as typed and never turns
    into a link, an image, bold text or a formula."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text or "")


DB_UNAVAILABLE = "数据库暂时不可用，请稍后重试。您刚才的操作没有保存，页面内容仍然保留。"


@contextmanager
def db_errors() -> Iterator[None]:
    """Turn a lost or busy database into a message the user can act on, instead of a traceback.

    Wrap the whole ``db.session_scope`` so the transaction has been rolled back (nothing
    half-written) by the time the message shows; the widgets keep what was typed, so the user
    can simply press the button again::

        with common.db_errors(), db.session_scope() as session:
            inquiries.submit(session, actor=user, form=form)
    """
    try:
        yield
    except faults.DATABASE_ERRORS as err:
        if not faults.is_outage(err):
            raise
        # The next run gets a fresh connection from the pool (pre-ping on PostgreSQL).
        st.error(DB_UNAVAILABLE, icon=":material/warning:")
        st.stop()
