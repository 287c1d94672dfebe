"""投保咨询's form: the fields (with their errors under them), the status and progress of a
submitted inquiry, the buttons, and under them the outcome of the last action.

The outcome of an action is shown where the user is looking, not at the top of a long form: as a
toast (fixed to the window, whatever the scroll position; problems stay until closed) and, for the
record, under the buttons until the next run. Field errors sit under their fields, and their
summary under the buttons.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import clock, db, inquiries, regions
from dashboard.errors import NotFound
from dashboard.settings import get_settings
from dashboard.views import common, entry_actions, entry_info
from dashboard.views.entry_state import SERIAL_KEY, WIDGET_KEYS, EntryState, Outage, outage_shown
from models import FIELD_LABELS, INTENT_LABELS, STATUS_LABELS, Inquiry, Status, User

#: The toast of an action the database outage stopped; the outage itself is said once on the page
#: (``common.show_outage``), possibly far above the buttons.
ACTION_OUTAGE = "操作未成功：数据库暂时不可用，请稍后重试。您填写的内容仍然保留。"
REQUIRED = "*"  # plain text: the label is also the accessible name of the field


def _label(name: str) -> str:
    return REQUIRED + FIELD_LABELS[name]


def _field_error(state: EntryState, *names: str) -> None:
    for name in names:
        if name in state.errors:
            st.markdown(f":red[{state.errors[name]}]")


def _fmt(value) -> str:
    return clock.show(value)


def _region_selects(state: EntryState, readonly: bool) -> None:
    """省/市, 市, 区: each level's choices depend on the one before; a level the region does not
    have is a disabled select that says why."""
    st.markdown(_label("region"))
    province = st.session_state.get(WIDGET_KEYS["province_code"])
    city = st.session_state.get(WIDGET_KEYS["city_code"])
    col_p, col_c, col_d = st.columns(3)
    provinces = [p.code for p in regions.provinces()]
    _level(col_p, "省/市", provinces, "province_code", readonly, entry_actions.province_changed)
    city_options = [c.code for c in regions.cities(province)]
    if city_options:
        _level(col_c, "市", city_options, "city_code", readonly, entry_actions.city_changed)
    else:
        if province is None:
            hint = "请先选择省/市"
        elif regions.is_municipality(province):
            hint = "直辖市无需选择"
        else:
            hint = "无需选择"
        _no_level(col_c, "市", hint, "entry_city_none")
        city = None
    if regions.is_municipality(province):
        district_options = [d.code for d in regions.districts(province)]
    else:
        district_options = [d.code for d in regions.districts(province, city)] if city else []
    if district_options:
        _level(col_d, "区", district_options, "district_code", readonly)
    else:
        if province is None or (city_options and city is None):
            hint = "请先选择市"
        else:
            hint = "该地区无下辖区，无需选择"
        _no_level(col_d, "区", hint, "entry_district_none")
    _field_error(state, "region")


def _level(where, label: str, codes: list[str], field: str, readonly: bool, on_change=None):
    """One level of the region: its codes shown by name, none chosen at first."""
    where.selectbox(
        label,
        codes,
        format_func=regions.name,
        index=None,
        placeholder=f"请选择{label}",
        key=WIDGET_KEYS[field],
        on_change=on_change,
        disabled=readonly,
    )


def _no_level(where, label: str, hint: str, key: str) -> None:
    """A level the region does not have (or not yet): disabled, ``hint`` says why."""
    where.selectbox(label, [], index=None, placeholder=hint, disabled=True, key=key)


def _progress_steps(progress: inquiries.Progress) -> list[str]:
    """已提交 → 受理 → 已完成, each with its time once reached; who took it only when the
    insurer names its staff (the domain leaves the name out otherwise)."""
    steps = [f"已提交（{_fmt(progress.submitted_at)}）"]
    if progress.taken_at is not None:
        who = f"业务人员 {common.md_escape(progress.taken_by)}" if progress.taken_by else "业务人员"
        steps.append(f"{who}已受理（{_fmt(progress.taken_at)}）")
    elif progress.status == Status.submitted:
        steps.append("等待受理")
    if progress.status == Status.completed:
        steps.append(f"已完成（{_fmt(progress.completed_at)}）")
    else:
        steps.append("待完成")
    return steps


def _progress(user: User, current: Inquiry) -> None:
    """A submitted or completed inquiry's progress line and, once completed, the insurer's
    处理意见 with the completion time, read-only. Only what ``inquiries.progress`` gives the
    company: never the internal 备注 of the audit trail."""
    try:
        with outage_shown(), db.session_scope(write=False) as session:
            progress = inquiries.progress(session, actor=user, inquiry_id=current.id)
    except (Outage, NotFound):
        return  # said once on the page already / the form is reset on the next run
    st.caption("办理进度：" + " → ".join(_progress_steps(progress)))
    if progress.status != Status.completed:
        return
    with st.container(border=True, key="entry_reply"):
        st.markdown(f"**{inquiries.REPLY_LABEL}**")
        # Escaped, its line breaks kept (markdown would join the lines).
        lines = progress.reply.splitlines()
        st.markdown("  \n".join(common.md_escape(line) for line in lines) if lines else "（无）")
        st.caption(f"完成时间：{_fmt(progress.completed_at)}")


def form(state: EntryState, user: User, current: Inquiry | None) -> None:
    """The whole form, top to bottom: serial and status, the fields, the buttons with the
    outcome under them, and the 个人信息处理说明."""
    st.text_input(
        FIELD_LABELS["serial"], disabled=True, placeholder="保存后自动生成", key=SERIAL_KEY
    )
    if current is not None:
        _status(state, user, current)
    _fields(state, state.readonly)
    _buttons(state)
    _feedback(state)
    # Under the form, read before anything is saved; no box to tick, nothing more to click.
    st.markdown("**个人信息处理说明**")
    st.caption(entry_info.privacy_notice(get_settings().retention_days))


def _status(state: EntryState, user: User, current: Inquiry) -> None:
    """A saved inquiry's status and dates; a read-only one says so and shows its progress."""
    parts = [f"申请状态：**{STATUS_LABELS.get(current.status, current.status)}**"]
    parts.append(f"创建日期：{_fmt(current.created_at)}")
    if current.submitted_at:
        parts.append(f"提交日期：{_fmt(current.submitted_at)}")
    if current.completed_at:
        parts.append(f"完成日期：{_fmt(current.completed_at)}")
    if state.readonly:
        status = STATUS_LABELS.get(current.status, current.status)
        st.info("　".join(parts) + f"\n\n该询保申请{status}，仅供查看，不能修改。")
        _progress(user, current)
    else:
        st.caption("　".join(parts))


def _fields(state: EntryState, readonly: bool) -> None:
    def text(name: str, **kwargs: Any) -> None:
        # No max_chars: the browser would silently drop a longer paste and save the old text;
        # the form's check names the field and the limit instead.
        st.text_input(_label(name), key=WIDGET_KEYS[name], disabled=readonly, **kwargs)
        _field_error(state, name)

    text("company_name")
    _region_selects(state, readonly)
    text("address_detail", placeholder="街道、门牌号、楼层等")
    text("contact_name")
    left, right = st.columns(2)
    with left:
        text("mobile", placeholder="如 13812345678")
    with right:
        text("landline", placeholder="如 010-12345678，可加分机号")
    text("email", placeholder="如 name@example.com")
    st.radio(
        _label("intent"),
        list(INTENT_LABELS),
        format_func=INTENT_LABELS.get,
        key=WIDGET_KEYS["intent"],
        horizontal=True,
        disabled=readonly,
    )
    _field_error(state, "intent")
    st.text_area(
        FIELD_LABELS["other_needs"],
        key=WIDGET_KEYS["other_needs"],
        placeholder="选择“我有其他需求”时必填",
        disabled=readonly,
    )
    _field_error(state, "other_needs")


def _buttons(state: EntryState) -> None:
    """新增 always; 保存 and 提交 on a form that can be edited; 删除 on a saved draft."""
    buttons = st.columns([1, 1, 1, 1, 2])
    buttons[0].button("新增", on_click=entry_actions.new, width="stretch")
    if state.readonly:
        return
    buttons[1].button("保存", on_click=entry_actions.save, width="stretch")
    buttons[2].button(
        "提交", type="primary", on_click=entry_actions.request_submit, width="stretch"
    )
    if state.inquiry_id is not None:  # a saved draft (暂存): the company may delete it
        buttons[3].button(
            "删除",
            on_click=entry_actions.request_delete,
            width="stretch",
            icon=":material/delete:",
            key="entry_delete",
        )


def _feedback(state: EntryState) -> None:
    """Under the buttons: the summary of the field errors and the outcome of the last action,
    each also as a toast (once)."""
    if state.errors:
        lines = "\n".join(
            f"- **{FIELD_LABELS.get(name, name)}**：{common.md_escape(message)}"
            for name, message in state.errors.items()
        )
        st.error(f"请修正以下内容后再保存或提交：\n\n{lines}")
    if state.conflict:
        st.error(state.conflict)
        st.button(
            "重新打开该申请",
            on_click=entry_actions.reopen,
            help="载入在别处保存的内容；本页尚未保存的修改将丢失。",
            key="entry_reopen",
        )
    notice, state.notice = state.notice, None
    toast, state.toast = state.toast, None
    if notice is not None:
        kind, message = notice
        common.show_message(kind, message)  # the outage: once per run, wherever it is first
        common.toast(kind, ACTION_OUTAGE if message == common.DB_UNAVAILABLE else message)
    if toast is not None:
        common.toast(*toast)
