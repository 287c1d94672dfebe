"""Entry point: ``streamlit run dashboard/app.py``.

Logs the user in, then builds ``st.navigation`` from the pages the user's role may see. Nothing
else: each page lives in ``views/`` and the rules live in the domain modules.
"""

from __future__ import annotations

import streamlit as st

from dashboard import accounts, bootstrap, db
from dashboard.seed import DEMO_ACCOUNTS, DEMO_PASSWORD
from dashboard.views import common
from models import ROLE_LABELS, Role

st.set_page_config(page_title="投保咨询", page_icon="📋", layout="wide")


@st.cache_resource(show_spinner="正在准备数据库…")
def startup() -> bootstrap.Startup:
    return bootstrap.start()


PAGES = {
    "entry": st.Page("views/entry.py", title="投保咨询", icon="📝", url_path="entry"),
    "triage": st.Page("views/triage.py", title="咨询处理", icon="📥", url_path="triage"),
    "reports": st.Page("views/reports.py", title="统计报表", icon="📊", url_path="reports"),
    "users": st.Page("views/users.py", title="用户管理", icon="👥", url_path="users"),
}
ROLE_PAGES = {
    Role.enterprise: ["entry"],
    Role.staff: ["triage"],
    Role.manager: ["triage", "reports"],
    Role.admin: ["users"],
}


def login_page() -> None:
    info = startup()
    st.title("投保咨询系统")
    notice = st.session_state.pop("login_notice", None)
    if notice:
        st.info(notice)
    with st.form("login"):
        username = st.text_input("用户名", max_chars=64)
        password = st.text_input("密码", type="password", max_chars=256)
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        with db.session_scope() as session:
            user = accounts.authenticate(session, username=username, password=password)
        if user is None:
            st.error("用户名或密码错误，或账号已被锁定，请稍后再试")
        else:
            common.login(user)
            st.rerun()
    if info.demo_active:
        st.warning("演示模式：以下演示账号使用公开的密码，请勿在生产环境中使用。")
        st.table(
            {
                "用户名": [u for u, *_ in DEMO_ACCOUNTS],
                "角色": [ROLE_LABELS[r] for _, r, *_ in DEMO_ACCOUNTS],
                "密码": [DEMO_PASSWORD] * len(DEMO_ACCOUNTS),
            }
        )


def main() -> None:
    startup()
    user = common.current_user()
    if user is None:
        st.navigation([st.Page(login_page, title="登录", icon="🔐")], position="hidden").run()
        return
    with st.sidebar:
        st.caption(f"{user.label}（{ROLE_LABELS.get(user.role, user.role)}）")
        if st.button("退出登录", key="logout"):
            common.logout()
            st.rerun()
    pages = [PAGES[name] for name in ROLE_PAGES.get(Role(user.role), [])]
    st.navigation(pages).run()


main()
