"""用户管理 (role admin): list accounts; create, change role, deactivate/reactivate, reset password.

Thin: every rule (no self-demotion, the last administrator stays, password policy, audit) lives in
``dashboard.accounts``; this page reads widgets, calls one function and shows the outcome. User
text (names, companies) is shown in data frames and plain text, never as markdown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import accounts, clock, db
from dashboard.errors import DomainError, FormInvalid
from dashboard.views import common
from models import ACCOUNT_ACTION_LABELS, ROLE_LABELS

NOTICE_KEY = "users_notice"
MAX_LISTED = 500
ROLES = list(ROLE_LABELS)

admin = common.require_role("admin")
st.title("用户管理")


def _time(value) -> str:
    return clock.show(value)


def _show_errors(err: DomainError) -> None:
    if isinstance(err, FormInvalid):
        for message in err.errors.values():
            st.error(common.md_escape(message))
    else:
        st.error(common.md_escape(str(err)))


def _done(message: str, one_time_password: str | None = None) -> None:
    """Remember the outcome for the next run (shown once), clear caches, rerun.

    ``message`` is markdown: user text in it must already be ``common.md_escape``d."""
    st.session_state[NOTICE_KEY] = (message, one_time_password)
    common.clear_caches()
    st.rerun()


def _last_outcome() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if not notice:
        return
    message, one_time_password = notice
    st.success(message)  # built from escaped user text in _done
    if one_time_password:
        st.warning("一次性密码只显示这一次，请立即安全地转交给用户；用户首次登录后必须修改密码。")
        st.code(one_time_password, language=None)


def _listed_users() -> list:
    """The search and role filter, then the matching accounts as a table."""
    search_col, role_col = st.columns([2, 1])
    search = search_col.text_input(
        "搜索用户",
        placeholder="用户名、显示名称、公司名称或邮箱",
        max_chars=100,
        key="users_search",
    )
    role_filter = role_col.selectbox(
        "角色筛选",
        [None, *ROLE_LABELS],
        format_func=lambda r: "全部" if r is None else ROLE_LABELS[r],
    )
    with common.db_errors(), db.session_scope(write=False) as session:
        users = accounts.list_users(
            session, actor=admin, search=search, role=role_filter, limit=MAX_LISTED
        )
        total = accounts.count_users(session, actor=admin, search=search, role=role_filter)
    if total > len(users):
        st.caption(f"共 {total} 个账号，显示前 {len(users)} 个；请用搜索缩小范围。")
    st.dataframe(
        pd.DataFrame(
            {
                "用户名": [u.username for u in users],
                "显示名称": [u.display_name or "" for u in users],
                "角色": [ROLE_LABELS.get(u.role, u.role) for u in users],
                "公司名称": [u.company_name or "" for u in users],
                "邮箱": [u.email or "" for u in users],
                "状态": ["在用" if u.is_active else "已停用" for u in users],
                "最近登录": [_time(u.last_login_at) for u in users],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    return users


def _create_form() -> None:
    with st.form("create_user", clear_on_submit=False):
        username = st.text_input("用户名", max_chars=64, key="new_username")
        role = st.selectbox("角色", ROLES, format_func=ROLE_LABELS.get, key="new_role")
        company = st.text_input("公司名称（企业用户必填）", max_chars=100, key="new_company")
        display_name = st.text_input("显示名称", max_chars=64, key="new_display")
        email = st.text_input("邮箱（统一身份登录按邮箱对应账号）", max_chars=254, key="new_email")
        mode = st.radio(
            "初始密码", ["生成一次性密码", "手动设置密码"], horizontal=True, key="new_mode"
        )
        password = st.text_input("密码", type="password", max_chars=256, key="new_password")
        password_again = st.text_input(
            "再次输入密码", type="password", max_chars=256, key="new_password_again"
        )
        if not st.form_submit_button("创建用户", type="primary"):
            return
    typed = mode == "手动设置密码"
    if typed and password != password_again:
        st.error("两次输入的密码不一致")
        return
    try:
        with common.db_errors(), db.session_scope() as session:
            created, generated = accounts.add_user(
                session,
                actor=admin,
                username=username,
                role=role,
                password=password if typed else None,
                company_name=company,
                display_name=display_name,
                email=email,
            )
            name = created.username
    except DomainError as err:
        _show_errors(err)
    else:
        _done(f"已创建用户 {common.md_escape(name)}", generated)


def _change(chosen, kind: str, value) -> tuple[str, str | None]:
    """Apply one change to ``chosen``; the outcome message (markdown) and a one-time password."""
    who = common.md_escape(chosen.username)
    with common.db_errors(), db.session_scope() as session:
        if kind == "role":
            accounts.set_role(session, actor=admin, user_id=chosen.id, role=value)
            return f"已将 {who} 的角色改为{ROLE_LABELS[value]}", None
        if kind == "active":
            accounts.set_active(session, actor=admin, user_id=chosen.id, active=value)
            return f"已{'启用' if value else '停用'}账号 {who}", None
        generated = accounts.reset_password(session, actor=admin, user_id=chosen.id)
        return f"已重置 {who} 的密码", generated


def _edit_form(users: list) -> None:
    if not users:
        return
    by_id = {u.id: u for u in users}
    chosen_id = st.selectbox(
        "选择账号",
        list(by_id),
        format_func=lambda i: f"{by_id[i].username}（{ROLE_LABELS.get(by_id[i].role, '')}）",
        key="edit_user",
    )
    chosen = by_id[chosen_id]
    new_role = st.selectbox(
        "新角色",
        ROLES,
        index=ROLES.index(chosen.role) if chosen.role in ROLES else 0,
        format_func=ROLE_LABELS.get,
        key=f"edit_role_{chosen.id}",
    )
    col_role, col_active, col_reset = st.columns(3)
    action = None
    if col_role.button("修改角色"):
        action = ("role", new_role)
    if col_active.button("停用账号" if chosen.is_active else "启用账号"):
        action = ("active", not chosen.is_active)
    if col_reset.button("重置密码"):
        action = ("reset", None)
    if action is None:
        return
    try:
        outcome = _change(chosen, *action)
    except DomainError as err:
        _show_errors(err)
    else:
        _done(*outcome)


def _audit_trail() -> None:
    with common.db_errors(), db.session_scope(write=False) as session:
        events = accounts.recent_events(session, actor=admin, limit=100)
    st.dataframe(
        pd.DataFrame(
            {
                "时间": [_time(e["at"]) for e in events],
                "操作": [ACCOUNT_ACTION_LABELS.get(e["action"], e["action"]) for e in events],
                "账号": [e["user"] for e in events],
                "操作人": [e["actor"] for e in events],
                "说明": [e["detail"] for e in events],
            }
        ),
        hide_index=True,
        width="stretch",
    )


# --------------------------------------------------------------------------------------------
# The page

_last_outcome()
listed = _listed_users()
create_tab, edit_tab, audit_tab = st.tabs(["新建用户", "修改账号", "操作记录"])
with create_tab:
    _create_form()
with edit_tab:
    _edit_form(listed)
with audit_tab:
    _audit_trail()
