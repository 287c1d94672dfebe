"""The Streamlit script, served by ``dashboard/server.py`` (``streamlit run dashboard/server.py``).

Logs the user in (``views/login.py``), then builds ``st.navigation`` from the pages the user's
role may see. Nothing else: each page lives in ``views/`` and the rules live in the domain
modules. Whatever goes wrong, the visitor sees a message in Chinese, never a traceback.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from dashboard.views import common, login
from models import ROLE_LABELS, Role

st.set_page_config(page_title="投保咨询", page_icon="📋", layout="wide")

PAGES = {
    "entry": st.Page(
        "views/entry.py", title="投保咨询", icon=":material/edit_note:", url_path="entry"
    ),
    "triage": st.Page(
        "views/triage.py", title="咨询处理", icon=":material/inbox:", url_path="triage"
    ),
    "reports": st.Page(
        "views/reports.py", title="统计报表", icon=":material/bar_chart:", url_path="reports"
    ),
    "users": st.Page("views/users.py", title="用户管理", icon=":material/group:", url_path="users"),
    "outbox": st.Page(
        "views/outbox.py", title="邮件发送记录", icon=":material/mail:", url_path="outbox"
    ),
    "routing": st.Page(
        "views/routing.py", title="分配规则", icon=":material/alt_route:", url_path="routing"
    ),
    "access_log": st.Page(
        "views/access_log.py",
        title="访问记录",
        icon=":material/policy:",
        url_path="access_log",
    ),
}
ROLE_PAGES = {
    Role.enterprise: ["entry"],
    Role.staff: ["triage"],
    Role.manager: ["triage", "reports"],
    Role.admin: ["users", "outbox", "routing", "access_log"],
}


# --------------------------------------------------------------------------------------------


def _at_paths(page_fn, title: str, icon: str | None, names) -> list:
    """``page_fn`` as a hidden page at each of these page paths (one function per path: a page
    is known by its function)."""
    pages = []
    for name in names:

        def at_path(page_fn=page_fn) -> None:
            page_fn()

        at_path.__name__ = f"{getattr(page_fn, '__name__', 'page')}_at_{name}"
        pages.append(st.Page(at_path, title=title, icon=icon, url_path=name, visibility="hidden"))
    return pages


def _everywhere(page_fn, title: str, icon: str) -> list:
    """``page_fn`` at the root and at every page path: a link to /reports opened before logging
    in shows ``page_fn``, not Streamlit's English "Page not found", and keeps its path and query,
    so that once the user has logged in the same URL shows that page with its parameters."""
    root = st.Page(page_fn, title=title, icon=icon, default=True)
    return [root, *_at_paths(page_fn, title, icon, PAGES)]


def _root(home) -> st.Page:
    """The site's root: it goes on to the role's first page. Streamlit serves its default page
    at "/" only, so a role's first page that were the default could not be opened at its own
    path (a link to /triage would say "Page not found")."""

    def home_page() -> None:
        # The parameters come along: a link to "/?status=…" means the first page's filters.
        st.switch_page(home, query_params=st.query_params.to_dict())

    return st.Page(home_page, title="首页", default=True, visibility="hidden")


NAV_NOTICE = "nav_notice"


def _not_for_this_role(home) -> None:
    """A page path the role may not see (a shared link, the tab of a user who logged out): the
    role's first page instead, and a note saying why."""
    st.session_state[NAV_NOTICE] = "您的账号无权访问所打开的页面，已为您转到您的首页。"
    st.switch_page(home)


def main() -> None:
    login.startup()
    with common.db_errors():
        user = common.current_user()
        if user is None and common.sso_logged_in() and not st.session_state.get("sso_refused"):
            if login.sso_sign_in():
                user = common.current_user()
            else:
                st.session_state["sso_refused"] = True
    if user is None:
        common.cookie_handoff()  # after 退出登录: clear the session cookie
        if st.session_state.get("sso_refused"):
            st.navigation(
                _everywhere(login.sso_refused_page, "登录", ":material/login:"), position="hidden"
            ).run()
            return
        st.navigation(
            _everywhere(login.login_page, "登录", ":material/login:"), position="hidden"
        ).run()
        return
    with st.sidebar:
        st.caption(f"{common.md_escape(user.label)}（{ROLE_LABELS.get(user.role, user.role)}）")
        common.cookie_handoff()  # a new login: the browser fetches its session cookie
        if st.button("退出登录", key="logout"):
            sso = common.sso_logged_in()
            common.logout()
            # After st.logout the browser is redirected (provider logout, then a new session);
            # a rerun here could drop that redirect, so just end this run.
            if sso:
                st.stop()
            st.rerun()
    # A one-time password must be replaced first; single-sign-on sessions use no password.
    if user.must_change_password and not common.sso_logged_in():
        st.navigation(
            _everywhere(login.change_password_page, "修改密码", ":material/key:"),
            position="hidden",
        ).run()
        return
    allowed = ROLE_PAGES.get(Role(user.role), [])
    home = PAGES[allowed[0]]
    others = _at_paths(
        partial(_not_for_this_role, home), "投保咨询", None, [n for n in PAGES if n not in allowed]
    )
    notice = st.session_state.pop(NAV_NOTICE, None)
    if notice:
        st.toast(notice, icon=":material/info:")
    st.navigation([_root(home)] + [PAGES[name] for name in allowed] + others).run()


try:
    main()
except Exception as err:  # st.stop() and st.rerun() are BaseExceptions and pass through
    # Nothing of the error reaches the visitor (SQL, bound values, paths): a message in Chinese
    # with an id, and the traceback in the server log under that id.
    common.show_message("error", common.failure_message(err))
finally:
    common.end_of_run()
