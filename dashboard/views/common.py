"""What every page shares: the logged-in user, login and logout, cache clearing after writes.

A login is a row of ``user_session`` (``dashboard.sessions``); the browser keeps it in an HttpOnly
cookie, so a reload, a new tab or another app process finds it again. The Streamlit session holds
one small object, ``Auth`` (the session's id); the session and its user are re-read from the
database on every run, so 退出登录 in another tab, the idle timeout, a deactivated account or a
changed role take effect at the next click.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import streamlit as st

from dashboard import db, faults, sessions
from dashboard.errors import DomainError, FormInvalid
from models import User, utcnow

T = TypeVar("T")

AUTH_KEY = "auth"
#: The id of the user whose page state the session holds. It outlives the login (idle timeout),
#: so that the same user logging in again finds the form as it was; anyone else starts afresh.
OWNER_KEY = "auth_owner"
NOTICE_KEY = "login_notice"
#: Set by ``logout``: the next page asks the server to clear the session cookie.
CLEAR_COOKIE_KEY = "clear_cookie"
IDLE_NOTICE = "由于长时间未操作，您已自动退出，请重新登录。您填写的内容已保留，重新登录后可继续。"
INACTIVE_NOTICE = (
    "您的登录已结束：可能已在其他窗口退出登录，或账号已被停用、权限或密码已变更。请重新登录；"
    "如无法登录，请联系系统管理员。"
)


@dataclass
class Auth:
    user_id: int
    #: The ``user_session`` row of this login.
    session_id: int
    #: The row as last read: what the pages show while the database cannot be reached (every
    #: action then fails and says so; the domain re-reads the user before any write).
    user: User | None = None
    #: The one-time code this page trades for the session cookie, until it has done so.
    pickup: str | None = None


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
    the session ended (退出登录 in another tab, the account changed), or when nobody logged in.
    A browser that brings a valid session cookie (a reload, a new tab) is logged in by it.

    Safe in button callbacks: it never stops the script. When the database cannot be reached it
    says so and returns the row as last read, so the page (and what the user typed) stays on
    screen; any action then fails with the same message.
    """
    auth: Auth | None = st.session_state.get(AUTH_KEY)
    if not isinstance(auth, Auth):
        return _resume_from_cookie()
    now = utcnow()
    try:
        with db.session_scope(write=False) as session:
            found = sessions.current(session, auth.session_id, now=now)
        if found.stale:
            with db.session_scope() as session:
                sessions.touch(session, auth.session_id, now=now)
    except faults.DATABASE_ERRORS as err:
        if not faults.is_outage(err) or auth.user is None:
            raise
        show_outage()
        return auth.user
    if found.user is None:
        end_login(IDLE_NOTICE if found.reason == "idle" else INACTIVE_NOTICE)
        return None
    if found.picked_up:
        auth.pickup = None
    auth.user = found.user
    return found.user


def session_cookie() -> str | None:
    """The session token the browser sent when this page connected (None in tests without a
    browser)."""
    try:
        value = st.context.cookies.get(sessions.COOKIE)
    except Exception:  # no script context
        return None
    return value if isinstance(value, str) else None


def _resume_from_cookie() -> User | None:
    token = session_cookie()
    if not token or st.session_state.get(CLEAR_COOKIE_KEY):
        return None
    now = utcnow()
    with db.session_scope(write=False) as session:
        found = sessions.resume(session, token, now=now)
    if found.user is None:
        if found.reason == "idle":
            st.session_state.setdefault(NOTICE_KEY, "由于长时间未操作，您已自动退出，请重新登录。")
        return None
    if found.stale:
        with db.session_scope() as session:
            sessions.touch(session, found.session_id, now=now)
    _begin(found.user, found.session_id, pickup=None)
    return found.user


def _begin(user: User, session_id: int, *, pickup: str | None) -> None:
    if st.session_state.get(OWNER_KEY) != user.id:
        st.session_state.clear()
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[OWNER_KEY] = user.id
    st.session_state[AUTH_KEY] = Auth(
        user_id=user.id, session_id=session_id, user=user, pickup=pickup
    )


def login(user: User) -> None:
    """Start a login (a new session: no token from before the login is ever reused). The page
    state of the same user (kept by ``end_login``) carries on; any other user's is forgotten
    first. The page then fetches the session cookie (``cookie_handoff``)."""
    with db.session_scope() as session:
        started = sessions.start(session, user=user)
    _begin(user, started.session_id, pickup=started.pickup)


def end_login(notice: str) -> None:
    """End the login but keep the page state for the same user (idle timeout, account
    changed); the login page shows ``notice``."""
    st.session_state.pop(AUTH_KEY, None)
    st.session_state[NOTICE_KEY] = notice
    st.cache_data.clear()


def current_session_id() -> int | None:
    auth = st.session_state.get(AUTH_KEY)
    return auth.session_id if isinstance(auth, Auth) else None


def logout() -> None:
    """End the session (in every tab of the browser: they share it) and forget everything of the
    user: the whole session state, cached query results and, for a single-sign-on session, the
    identity cookie (otherwise the next run would log in again). The next page clears the
    session cookie."""
    session_id = current_session_id()
    if session_id is not None:
        with db.session_scope() as session:
            sessions.end(session, session_id)
    st.session_state.clear()
    st.session_state[CLEAR_COOKIE_KEY] = True
    st.cache_data.clear()
    if sso_logged_in():
        st.logout()


def _post(path: str, body: dict) -> None:
    """A same-origin POST from the page, with the browser's cookies (``dashboard/server.py``)."""
    # Both values are JSON literals of URL-safe text: nothing in them can end the script tag.
    url, payload = json.dumps(path), json.dumps(json.dumps(body))
    st.html(
        f"<script>fetch({url},{{method:'POST',credentials:'same-origin',"
        f"headers:{{'Content-Type':'application/json'}},body:{payload}}});</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def cookie_handoff() -> None:
    """Have the browser fetch the session cookie of a new login, or clear the cookie after
    退出登录. Rendered on every page until the server has seen the cookie fetched; a page that
    runs without the ASGI server (tests) simply keeps the login in this tab only."""
    auth = st.session_state.get(AUTH_KEY)
    if isinstance(auth, Auth) and auth.pickup:
        _post("/auth/session", {"pickup": auth.pickup})
    elif st.session_state.pop(CLEAR_COOKIE_KEY, False):
        # Whether or not this page saw the cookie: it may have been set after the page
        # connected (``st.context.cookies`` holds what the browser sent then).
        _post("/auth/logout", {})


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


def admin_page(title: str, caption: str | None = None) -> User:
    """The head of an administrator's page: the administrator (else the page stops), the
    title and the caption under it."""
    admin = require_role("admin")
    st.title(title)
    if caption:
        st.caption(caption)
    return admin


def session_object(key: str, cls: type[T]) -> T:
    """A page's state object, kept in the session under ``key``: a new ``cls()`` at the first
    visit, or after tampering. The class must live outside the page script (which Streamlit
    re-executes on every run, making a new class each time) for ``isinstance`` to hold."""
    current = st.session_state.get(key)
    if not isinstance(current, cls):
        current = st.session_state[key] = cls()
    return current


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


def read(fn, /, *args, **kwargs):
    """``fn(session, *args, **kwargs)`` in a read-only session: its result, or the outage said
    and the page stopped (``db_errors``)."""
    with db_errors(), db.session_scope(write=False) as session:
        return fn(session, *args, **kwargs)


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


_TOAST_ICONS = {
    "success": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


def toast(kind: str, text: str) -> None:
    """The result of an action where the user is looking, whatever the scroll position: a toast
    (fixed to the window's corner). Successes fade after a few seconds; warnings and errors stay
    until closed, so a conflict cannot be missed. ``text`` is markdown: escape user text with
    ``md_escape``. The outage message goes through ``show_outage`` (once per run)."""
    if text == DB_UNAVAILABLE:
        show_outage()
        return
    duration = "short" if kind in ("success", "info") else "infinite"
    st.toast(text, icon=_TOAST_ICONS.get(kind, _TOAST_ICONS["error"]), duration=duration)


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
