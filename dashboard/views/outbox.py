"""邮件发送记录 (role admin): the e-mail outbox — mail waiting to be sent, sent, and failed with
its last error; a filter by state, kind and text; 重试 for each failed mail; and who gets mail
about new inquiries nobody is responsible for (新咨询提醒).

Thin: what is sent to whom, the retries and the rights live in ``dashboard.notify``,
``dashboard.mailer`` and ``dashboard.outbox``; this page reads widgets, calls one function and
shows the outcome. Recipients, subjects and errors are
user text or a server's reply: shown in data frames and plain text, never as markdown.
"""

from __future__ import annotations

import streamlit as st

from dashboard import clock, db, mailer, outbox
from dashboard.errors import DomainError
from dashboard.views import common, widgets
from dashboard.views.widgets import Column
from models import NOTIFICATION_KIND_LABELS, NOTIFICATION_STATE_LABELS

NOTICE_KEY = "outbox_notice"
MAX_LISTED = 200
#: Failed mail offered for 重试 one by one; more than this is a broken mail server, not a list.
MAX_RETRY_ROWS = 50
OUTBOX_COLUMNS = (
    Column("创建时间", 125, lambda e: clock.show(e.created_at)),
    Column("类型", 90, lambda e: NOTIFICATION_KIND_LABELS.get(e.kind, e.kind)),
    Column("收件人", 190, lambda e: e.recipient),
    Column("主题", 300, lambda e: e.subject),
    Column("询保流水号", 150, lambda e: e.serial or ""),
    Column("状态", 75, lambda e: NOTIFICATION_STATE_LABELS.get(e.state, e.state)),
    Column("尝试次数", 70, lambda e: e.tries, number=True),
    Column("发送时间", 125, lambda e: clock.show(e.sent_at)),
    Column(
        "下次尝试", 125, lambda e: clock.show(e.next_attempt_at) if e.state == "pending" else ""
    ),
    Column("最后错误", 300, lambda e: e.last_error or ""),
)

admin = common.admin_page("邮件发送记录")


def _last_outcome() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        common.toast("success", notice)


def _done(message: str) -> None:
    """Remember the outcome for the next run (markdown: user text already escaped), rerun."""
    st.session_state[NOTICE_KEY] = message
    common.clear_caches()
    st.rerun()


def _filters() -> tuple[str | None, str | None, str]:
    state_col, kind_col, search_col = st.columns([1, 1, 2])
    state = state_col.selectbox(
        "状态",
        [None, *NOTIFICATION_STATE_LABELS],
        format_func=lambda s: "全部" if s is None else NOTIFICATION_STATE_LABELS[s],
        key="outbox_state",
    )
    kind = kind_col.selectbox(
        "类型",
        [None, *NOTIFICATION_KIND_LABELS],
        format_func=lambda k: "全部" if k is None else NOTIFICATION_KIND_LABELS[k],
        key="outbox_kind",
    )
    search = search_col.text_input(
        "搜索", placeholder="收件人、主题或询保流水号", max_chars=100, key="outbox_search"
    )
    return state, kind, search


def _listed(state: str | None, kind: str | None, search: str) -> list:
    with common.db_errors(), db.session_scope(write=False) as session:
        counts = outbox.outbox_counts(session, actor=admin, kind=kind, search=search)
        entries = outbox.outbox(
            session, actor=admin, state=state, kind=kind, search=search, limit=MAX_LISTED
        )
    cols = st.columns(3)
    for col, (code, label) in zip(cols, NOTIFICATION_STATE_LABELS.items(), strict=True):
        col.metric(label, f"{counts.get(code, 0):,}")
    shown = counts.get(state, 0) if state else sum(counts.values())
    if shown > len(entries):
        st.caption(f"共 {shown:,} 封，显示最新的 {len(entries)} 封；请用筛选缩小范围。")
    if not entries:
        filtered = bool(search) or state is not None or kind is not None
        st.info("没有符合条件的邮件，请修改筛选条件。" if filtered else "发件箱还是空的。")
        return entries
    widgets.table(entries, OUTBOX_COLUMNS, width="stretch")
    return entries


def _retry(entry) -> None:
    try:
        with common.db_errors(), db.session_scope() as session:
            outbox.retry(session, actor=admin, notification_id=entry.id)
    except DomainError as err:
        st.error(common.md_escape(str(err)))
    else:
        _done(f"已重新排队发送给 {common.md_escape(entry.recipient)} 的邮件")


def _failed_rows(entries: list) -> None:
    failed = [e for e in entries if e.state == "failed"][:MAX_RETRY_ROWS]
    if not failed:
        return
    st.subheader("发送失败的邮件")
    st.caption("重试后邮件回到待发送状态，由发送程序尽快重新发送。")
    for entry in failed:
        with st.container(border=True):
            text_col, button_col = st.columns([5, 1], vertical_alignment="center")
            text_col.text(
                f"{clock.show(entry.created_at)}  {entry.subject}\n"
                f"收件人：{entry.recipient}\n"
                f"最后错误：{entry.last_error or '（无）'}"
            )
            if button_col.button("重试", key=f"outbox_retry_{entry.id}"):
                _retry(entry)


def _new_inquiry_mail() -> None:
    """Who gets a mail about every new inquiry that nobody is responsible for."""
    staff = common.read(outbox.mail_staff, actor=admin)
    if not staff:
        st.info("还没有在用的业务人员或管理人员账号。")
        return
    by_id = {u.id: u for u in staff}
    st.caption(
        "新提交的询保申请没有负责人时，以下人员会收到邮件提醒。"
        "未填写邮箱的账号收不到邮件，请先在“用户管理”中填写邮箱。"
    )
    chosen = st.multiselect(
        "接收新咨询提醒的人员",
        list(by_id),
        default=[u.id for u in staff if u.notify_new_inquiries],
        format_func=lambda i: by_id[i].label + ("" if by_id[i].email else "（无邮箱）"),
        key="outbox_subscribers",
    )
    if not st.button("保存提醒设置", key="outbox_save_subscribers"):
        return
    changes = {
        i: i in chosen for i, u in by_id.items() if (i in chosen) != bool(u.notify_new_inquiries)
    }
    if not changes:
        st.info("提醒设置没有变化。")
        return
    try:
        with common.db_errors(), db.session_scope() as session:
            for user_id, enabled in changes.items():
                outbox.set_new_inquiry_mail(session, actor=admin, user_id=user_id, enabled=enabled)
    except DomainError as err:
        st.error(common.md_escape(str(err)))
    else:
        _done("已保存新咨询提醒设置")


# --------------------------------------------------------------------------------------------
# The page

_last_outcome()
problem = mailer.delivery_problem()
if problem:
    st.warning(problem, icon=":material/mail_lock:")
outbox_tab, subscribers_tab = st.tabs(["发件箱", "新咨询提醒"])
with outbox_tab:
    listed = _listed(*_filters())
    _failed_rows(listed)
with subscribers_tab:
    _new_inquiry_mail()
