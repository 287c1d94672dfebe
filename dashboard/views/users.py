"""用户管理 (role admin): list accounts; create, change role, deactivate/reactivate, reset password,
grant 导出含联系方式; anonymise one company's personal data on its request (个人信息删除).

Thin: every rule (no self-demotion, the last administrator stays, password policy, audit) lives in
``dashboard.accounts``; this page reads widgets, calls one function and shows the outcome. User
text (names, companies) is shown in data frames and plain text, never as markdown.

Outcomes show where the admin is looking: a refusal right under the button that was pressed, a
success as a toast (fixed to the window), and a one-time password in a dialog that only the admin
can close, so that it is never scrolled away or missed.
"""

from __future__ import annotations

import streamlit as st

from dashboard import accounts, clock, db, privacy
from dashboard.errors import DomainError, FormInvalid
from dashboard.views import common, widgets
from dashboard.views.widgets import Column
from models import ACCOUNT_ACTION_LABELS, ROLE_LABELS

NOTICE_KEY = "users_notice"
#: The enterprise account whose anonymisation waits for its confirmation.
ANONYMISE_KEY = "users_anonymise_pending"
#: Who may be granted 导出含联系方式 (``privacy.set_export_contacts`` says so too).
STAFF_ROLES = privacy.STAFF_ROLES
MAX_LISTED = 500
ROLES = list(ROLE_LABELS)
#: Column widths that fit a laptop's window (1440 px: about 980 px for the table). The grid's own
#: fitting ignores a value twice as long as the column's average once it has more than five
#: rows, so a long company name among many short ones would be cut.
USER_COLUMNS = (
    Column("用户名", 150, lambda u: u.username),
    Column("显示名称", 120, lambda u: u.display_name or ""),
    Column("角色", 95, lambda u: ROLE_LABELS.get(u.role, u.role)),
    Column("公司名称", 250, lambda u: u.company_name or ""),
    Column("邮箱", 180, lambda u: u.email or ""),
    Column("状态", 60, lambda u: "在用" if u.is_active else "已停用"),
    Column("最近登录", 125, lambda u: clock.show(u.last_login_at)),
)
AUDIT_COLUMNS = (
    Column("时间", 130, lambda e: clock.show(e["at"])),
    Column("操作", 100, lambda e: ACCOUNT_ACTION_LABELS.get(e["action"], e["action"])),
    Column("账号", 150, lambda e: e["user"]),
    Column("操作人", 120, lambda e: e["actor"]),
    Column("说明", 480, lambda e: e["detail"]),
)

admin = common.admin_page("用户管理")


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
    message, one_time_password = notice  # message: built from escaped user text in _done
    if one_time_password:
        _one_time_password_dialog(message, one_time_password)
    else:
        common.toast("success", message)


# Not dismissible: Escape or a click beside it would lose the password before it was copied.
@st.dialog("一次性密码", dismissible=False)
def _one_time_password_dialog(message: str, one_time_password: str) -> None:
    st.success(message)
    st.warning("一次性密码只显示这一次，请立即复制并安全地转交给用户；用户首次登录后必须修改密码。")
    st.code(one_time_password, language=None)
    st.caption("将鼠标移到密码上，点击右侧的复制按钮即可复制。")
    if st.button("我已记下密码，关闭", type="primary", width="stretch", key="users_otp_close"):
        st.rerun()


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
    if not users:
        filtered = bool(search) or role_filter is not None
        st.info("没有符合条件的账号，请修改搜索内容或角色筛选。" if filtered else "还没有账号。")
        return users
    widgets.table(users, USER_COLUMNS, width="stretch")
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
        if kind == "contacts":
            privacy.set_export_contacts(session, actor=admin, user_id=chosen.id, allowed=value)
            return f"已{'开通' if value else '取消'} {who} 的导出含联系方式", None
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
    if chosen.role in STAFF_ROLES:
        granted = bool(chosen.may_export_contacts)
        st.caption(
            f"导出含联系方式：{'已开通' if granted else '未开通'}。开通后，该账号在咨询处理页导出时"
            "可选择导出完整的手机号码、固话和邮箱，每次导出都记入访问记录；未开通时导出的联系方式"
            "均为部分隐藏。"
        )
        label = "取消导出含联系方式" if granted else "开通导出含联系方式"
        if st.button(label, key=f"edit_contacts_{chosen.id}"):
            action = ("contacts", not granted)
    if action is None:
        return
    try:
        outcome = _change(chosen, *action)
    except DomainError as err:
        _show_errors(err)
    else:
        _done(*outcome)


def _company_label(user) -> str:
    return f"{user.company_name or '（未填写公司名称）'}（{user.username}）"


@st.dialog("确认匿名化", dismissible=False)
def _anonymise_dialog(owner_id: int, label: str, planned) -> None:
    st.warning(
        f"将匿名化 {label} 的 {planned.anonymised} 条询保申请的联系人和联系方式，"
        f"并删除其 {planned.drafts} 条暂存申请。此操作无法撤销；统计报表中的数字不变。"
    )
    left, right = st.columns(2)
    if left.button("确认匿名化", type="primary", width="stretch", key="users_anonymise_ok"):
        st.session_state.pop(ANONYMISE_KEY, None)
        try:
            with common.db_errors(), db.session_scope() as session:
                done = privacy.anonymise_company(
                    session, actor=admin, owner_id=owner_id, apply=True
                )
        except DomainError as err:
            _show_errors(err)
        else:
            _done(
                f"已匿名化 {common.md_escape(label)} 的 {done.anonymised} 条询保申请，"
                f"删除 {done.drafts} 条暂存申请"
            )
    if right.button("取消", width="stretch", key="users_anonymise_cancel"):
        st.session_state.pop(ANONYMISE_KEY, None)
        st.rerun()


def _personal_data() -> None:
    """A company's request to delete its personal data: anonymise all its inquiries' contact
    fields and delete its drafts, after a look at what that touches and a confirmation."""
    st.caption(
        "企业要求删除其个人信息时：匿名化该企业账号全部询保申请的联系人和联系方式，"
        "并删除其暂存申请。公司名称、地区、询保内容和日期保留，统计报表不受影响；操作记入访问记录。"
    )
    companies = common.read(privacy.company_accounts, actor=admin)
    if not companies:
        st.info("还没有企业账号。")
        return
    by_id = {u.id: u for u in companies}
    owner_id = st.selectbox(
        "企业账号",
        list(by_id),
        format_func=lambda i: _company_label(by_id[i]),
        key="users_anonymise_owner",
    )
    planned = common.read(privacy.anonymise_company, actor=admin, owner_id=owner_id, apply=False)
    st.caption(f"待匿名化的询保申请 {planned.anonymised} 条，暂存申请 {planned.drafts} 条。")
    nothing = planned.anonymised == 0 and planned.drafts == 0
    if st.button("匿名化该企业的个人信息", disabled=nothing, key="users_anonymise"):
        st.session_state[ANONYMISE_KEY] = owner_id
    # The dialog stays open (drawn on every run) until it is confirmed or cancelled.
    if st.session_state.get(ANONYMISE_KEY) == owner_id and not nothing:
        _anonymise_dialog(owner_id, _company_label(by_id[owner_id]), planned)


def _audit_trail() -> None:
    events = common.read(accounts.recent_events, actor=admin, limit=100)
    if not events:
        st.info("暂无操作记录。")
        return
    widgets.table(events, AUDIT_COLUMNS, width="stretch")


# --------------------------------------------------------------------------------------------
# The page

_last_outcome()
listed = _listed_users()
create_tab, edit_tab, audit_tab, personal_tab = st.tabs(
    ["新建用户", "修改账号", "操作记录", "个人信息删除"]
)
with create_tab:
    _create_form()
with edit_tab:
    _edit_form(listed)
with audit_tab:
    _audit_trail()
with personal_tab:
    _personal_data()
