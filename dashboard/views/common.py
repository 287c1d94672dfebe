"""What every page shares: the logged-in user, login and logout, cache clearing after writes.

The session holds one small object, ``Auth`` (user id and the time of the last activity); the
user row is re-read from the database on every run, so a deactivated account or a changed role
takes effect at once.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import streamlit as st

from dashboard import accounts, db, faults
from dashboard.errors import DomainError, FormInvalid
from dashboard.settings import get_settings
from models import User, utcnow

AUTH_KEY = "auth"
#: The id of the user whose page state the session holds. It outlives the login (idle timeout),
#: so that the same user logging in again finds the form as it was; anyone else starts afresh.
OWNER_KEY = "auth_owner"
NOTICE_KEY = "login_notice"
IDLE_NOTICE = "由于长时间未操作，您已自动退出，请重新登录。您填写的内容已保留，重新登录后可继续。"
INACTIVE_NOTICE = "您的账号已被停用或权限已变更，请联系系统管理员。"


@dataclass
class Auth:
    user_id: int
    last_seen: datetime
    #: The row as last read: what the pages show while the database cannot be reached (every
    #: action then fails and says so; the domain re-reads the user before any write).
    user: User | None = None


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
    """The logged-in, active user, re-read from the database; None after the idle timeout, once
    the account was deactivated, or when nobody logged in.

    Safe in button callbacks: it never stops the script. When the database cannot be reached it
    says so and returns the row as last read, so the page (and what the user typed) stays on
    screen; any action then fails with the same message.
    """
    auth: Auth | None = st.session_state.get(AUTH_KEY)
    if not isinstance(auth, Auth):
        return None
    now = utcnow()
    if now - auth.last_seen > timedelta(minutes=get_settings().session_idle_minutes):
        end_login(IDLE_NOTICE)
        return None
    try:
        with db.session_scope(write=False) as session:
            user = accounts.logged_in_user(session, auth.user_id)
    except faults.DATABASE_ERRORS as err:
        if not faults.is_outage(err) or auth.user is None:
            raise
        show_outage()
        return auth.user
    if user is None:
        end_login(INACTIVE_NOTICE)
        return None
    auth.last_seen = now
    auth.user = user
    return user


def login(user: User) -> None:
    """Start a login. The page state of the same user (kept by ``end_login``) carries on; any
    other user's is forgotten first."""
    if st.session_state.get(OWNER_KEY) != user.id:
        st.session_state.clear()
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[OWNER_KEY] = user.id
    st.session_state[AUTH_KEY] = Auth(user_id=user.id, last_seen=utcnow(), user=user)


def end_login(notice: str) -> None:
    """End the login but keep the page state for the same user (idle timeout, account
    changed); the login page shows ``notice``."""
    st.session_state.pop(AUTH_KEY, None)
    st.session_state[NOTICE_KEY] = notice
    st.cache_data.clear()


def logout() -> None:
    """Forget everything of the user: the whole session state, cached query results and, for a
    single-sign-on session, the identity cookie (otherwise the next run would log in again)."""
    st.session_state.clear()
    st.cache_data.clear()
    if sso_logged_in():
        st.logout()


def client_address() -> str:
    """The browser's address as the server sees it, for the per-source login limit ("unknown"
    when Streamlit cannot tell, e.g. in AppTest)."""
    try:
        address = st.context.ip_address
    except Exception:  # no script context
        return "unknown"
    return address if isinstance(address, str) and address else "unknown"


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


def acting_user(*roles: str) -> User | None:
    """For button callbacks: the user as the database holds them now, if they may still act
    with one of ``roles``; None otherwise (the rerun after the callback shows the login page or
    the pages the user may now see). Never stops the script: a callback that stops leaves a
    blank page."""
    user = current_user()
    if user is None or user.role not in roles:
        return None
    return user


def clear_caches() -> None:
    """Call after every write so that lists, counts and reports show it on the next run."""
    st.cache_data.clear()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")
# GitHub-flavoured markdown also links bare URLs and e-mail addresses found in the text after
# escapes are resolved (``http://…``, ``www.…``, ``a@b.cn``); a zero-width space where the
# pattern would match keeps them text and looks the same.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)


def md_escape(text: str | None) -> str:
    """User text made safe for widgets that render markdown (captions, messages): every markdown,
    HTML and LaTeX character is backslash-escaped and bare links are broken, so it shows exactly
    as typed and never turns into a link, an image, bold text or a formula."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\u200b", text or ""))


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
        show_outage()
        st.stop()


_OUTAGE_SHOWN = "outage_shown"


def show_outage() -> None:
    """Say once per run that the database cannot be reached (``app.py`` resets the flag)."""
    if not st.session_state.get(_OUTAGE_SHOWN):
        st.session_state[_OUTAGE_SHOWN] = True
        st.error(DB_UNAVAILABLE, icon=":material/warning:")


def end_of_run() -> None:
    """Called by ``app.py`` when a run ends (button callbacks run at the start of a run, so the
    flag is cleared at its end)."""
    st.session_state.pop(_OUTAGE_SHOWN, None)


def show_message(kind: str, text: str) -> None:
    """A message kept for the next run (``("success" | "warning" | "error", text)``); the outage
    message goes through ``show_outage``, so it is never shown twice."""
    if text == DB_UNAVAILABLE:
        show_outage()
        return
    {"success": st.success, "warning": st.warning}.get(kind, st.error)(text)


log = logging.getLogger("dashboard")


def unexpected(err: BaseException) -> str:
    """Log an unexpected error with its traceback under a short id; the Chinese message for the
    user carries the id and nothing of the error itself (no SQL, values, paths)."""
    error_id = secrets.token_hex(4).upper()
    log.error("unexpected error %s", error_id, exc_info=err)
    return (
        f"抱歉，系统出现意外错误（错误编号 {error_id}）。请刷新页面后重试；"
        "如果问题仍然存在，请将错误编号告诉系统管理员。"
    )


def failure_message(err: Exception) -> str:
    """What to tell the user about a failed action: the domain's own message, "please retry"
    for a database outage, an error id for anything else. The action wrote nothing (its
    transaction was rolled back)."""
    if isinstance(err, FormInvalid):
        return "；".join(err.errors.values())
    if isinstance(err, DomainError):
        return str(err)
    if isinstance(err, faults.DATABASE_ERRORS) and faults.is_outage(err):
        return DB_UNAVAILABLE
    return unexpected(err)
