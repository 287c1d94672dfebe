"""Entry point: ``streamlit run dashboard/app.py``.

Logs the user in (``views/login.py``), then builds ``st.navigation`` from the pages the user's
role may see. Nothing else: each page lives in ``views/`` and the rules live in the domain
modules. Whatever goes wrong, the visitor sees a message in Chinese, never a traceback.
"""

from __future__ import annotations

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
}
ROLE_PAGES = {
    Role.enterprise: ["entry"],
    Role.staff: ["triage"],
    Role.manager: ["triage", "reports"],
    Role.admin: ["users"],
}


# --------------------------------------------------------------------------------------------


def main() -> None:
    common.new_run()
    login.startup()
    with common.db_errors():
        user = common.current_user()
        if user is None and common.sso_logged_in() and not st.session_state.get("sso_refused"):
            if login.sso_sign_in():
                user = common.current_user()
            else:
                st.session_state["sso_refused"] = True
    if user is None:
        if st.session_state.get("sso_refused"):
            st.navigation(
                [st.Page(login.sso_refused_page, title="登录", icon=":material/login:")],
                position="hidden",
            ).run()
            return
        st.navigation(
            [st.Page(login.login_page, title="登录", icon=":material/login:")], position="hidden"
        ).run()
        return
    with st.sidebar:
        st.caption(f"{common.md_escape(user.label)}（{ROLE_LABELS.get(user.role, user.role)}）")
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
            [st.Page(login.change_password_page, title="修改密码", icon=":material/key:")],
            position="hidden",
        ).run()
        return
    pages = [PAGES[name] for name in ROLE_PAGES.get(Role(user.role), [])]
    st.navigation(pages).run()


try:
    main()
except Exception as err:  # st.stop() and st.rerun() are BaseExceptions and pass through
    # Nothing of the error reaches the visitor (SQL, bound values, paths): a message in Chinese
    # with an id, and the traceback in the server log under that id.
    st.error(common.failure_message(err), icon=":material/error:")
