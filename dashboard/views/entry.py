"""投保咨询 — the enterprise entry form (询保申请): new / save / submit, and the company's own list.

The page reads like the portal's user guide: the form on top, the company's inquiries below, a
static panel on the right. State: the widget values (keys ``entry_<field>``) and one
``EntryState``. Buttons act in ``on_click`` callbacks, which run before the page is drawn, so
that a save can put the serial and the normalised values into the form in the same run.

The inquiry in the form is re-read through ``inquiries.get`` with the current user on every run:
that decides whether it is read-only, and an id this user may not see (a tampered session) only
yields a neutral message and an empty form.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import clock, db, faults, inquiries, queries, regions
from dashboard.errors import FormInvalid, NotFound
from dashboard.views import common, entry_info
from dashboard.views.entry_state import FIELDS, STATE_KEY, WIDGET_KEYS, EntryState
from models import (
    FIELD_LABELS,
    INTENT_LABELS,
    STATUS_LABELS,
    Inquiry,
    InquiryForm,
    Intent,
    Role,
    Status,
    User,
)

PAGE_SIZE = 20
NOT_FOUND_MESSAGE = "找不到该询保申请，已为您打开一张空白的询保申请。"
SERIAL_KEY = "entry_serial"
REQUIRED = "*"  # plain text: the label is also the accessible name of the field


# --------------------------------------------------------------------------------------------
# State


def _state(user: User) -> EntryState:
    state = st.session_state.get(STATE_KEY)
    if not isinstance(state, EntryState) or state.user_id != user.id:
        state = EntryState(user_id=user.id)
        st.session_state[STATE_KEY] = state
        _fill(state, _blank(user), inquiry=None)
    return state


def _blank(user: User) -> InquiryForm:
    return InquiryForm(company_name=user.company_name, intent=Intent.insure.value)


def _fill(state: EntryState, form: InquiryForm, *, inquiry: Inquiry | None) -> None:
    """Put ``form`` into the widgets and make it the baseline. Only before widgets are drawn."""
    for name in FIELDS:
        value = getattr(form, name)
        text_field = name not in ("province_code", "city_code", "district_code", "intent")
        st.session_state[WIDGET_KEYS[name]] = (value or "") if text_field else value
    st.session_state[SERIAL_KEY] = inquiry.serial if inquiry else ""
    state.inquiry_id = inquiry.id if inquiry else None
    state.version = inquiry.version if inquiry else None
    state.baseline = form.model_dump()
    state.errors = {}
    state.readonly = inquiry is not None and inquiry.status != Status.draft
    state.list_generation += 1  # the highlighted row no longer matches the form
    _keep_typed(state)


def _typed() -> InquiryForm:
    """The form as typed (never raises)."""
    return InquiryForm(**{name: st.session_state.get(WIDGET_KEYS[name]) for name in FIELDS})


def _restore_typed(state: EntryState) -> None:
    """Put back what was typed, before the widgets are drawn. Streamlit forgets the values of
    widgets that a run did not draw: a visit to the login page (idle timeout), a run stopped by
    a database outage. The state object keeps a copy (``_keep_typed``)."""
    for name, value in state.typed.items():
        if WIDGET_KEYS[name] not in st.session_state:
            st.session_state[WIDGET_KEYS[name]] = value


def _keep_typed(state: EntryState) -> None:
    state.typed = {
        name: st.session_state[WIDGET_KEYS[name]]
        for name in FIELDS
        if WIDGET_KEYS[name] in st.session_state
    }


def _dirty(state: EntryState) -> bool:
    return _typed().model_dump() != state.baseline


def _user() -> User | None:
    """The user of a button callback, as the database holds them now; None when they may no
    longer act (the rerun then shows the login page, and the form is kept for them)."""
    return common.acting_user(Role.enterprise.value)


# --------------------------------------------------------------------------------------------
# Actions (button callbacks: they run before the page is drawn)


def _guarded(state: EntryState, action) -> None:
    """Run one domain action; turn every failure into a message, never a lost form."""
    state.errors = {}
    try:
        action()
    except FormInvalid as err:
        state.errors = err.errors
    except Exception as err:  # Conflict, an outage, anything else: a message, never a trace
        state.notice = ("error", common.failure_message(err))


def _new() -> None:
    user = _user()
    if user is None:
        return
    state = _state(user)
    if _dirty(state):  # a read-only form is never dirty: its widgets are disabled
        state.dialog, state.pending_open = "discard", None
    else:
        _fill(state, _blank(user), inquiry=None)


def _discard_confirmed() -> None:
    user = _user()
    if user is None:
        return
    state = _state(user)
    target, state.pending_open = state.pending_open, None
    if target is None:
        _fill(state, _blank(user), inquiry=None)
    else:
        _guarded(state, lambda: _open(state, user, target))


def _write(domain_call, message: str) -> None:
    """Save or submit the typed form, then show the stored inquiry (serial, normalised values)."""
    user = _user()
    if user is None:
        return
    state = _state(user)

    def action() -> None:
        is_new = state.inquiry_id is None
        with db.session_scope() as session:
            inquiry = domain_call(
                session,
                actor=user,
                form=_typed(),
                inquiry_id=state.inquiry_id,
                expected_version=state.version,
            )
        common.clear_caches()
        _fill(state, InquiryForm.from_inquiry(inquiry), inquiry=inquiry)
        if is_new:
            state.page = 1  # where the new row is listed
        state.notice = ("success", message.format(serial=inquiry.serial))

    _guarded(state, action)


def _save() -> None:
    _write(inquiries.save_draft, "已保存为暂存，询保流水号 {serial}")


def _request_submit() -> None:
    user = _user()
    if user is None:
        return
    state = _state(user)
    state.errors = _typed().errors()
    if not state.errors:
        state.dialog = "submit"


def _submit_confirmed() -> None:
    _write(inquiries.submit, "已提交，询保流水号 {serial}。我们将及时与您联系。")


def _open(state: EntryState, user: User, inquiry_id: int) -> None:
    try:
        with db.session_scope(write=False) as session:
            inquiry = inquiries.get(session, actor=user, inquiry_id=inquiry_id)
    except NotFound:
        _fill(state, _blank(user), inquiry=None)
        state.notice = ("warning", NOT_FOUND_MESSAGE)
        return
    _fill(state, InquiryForm.from_inquiry(inquiry), inquiry=inquiry)


def _province_changed() -> None:
    st.session_state[WIDGET_KEYS["city_code"]] = None
    st.session_state[WIDGET_KEYS["district_code"]] = None


def _city_changed() -> None:
    st.session_state[WIDGET_KEYS["district_code"]] = None


def _turn_page(delta: int) -> None:
    user = _user()
    if user is None:
        return
    state = _state(user)
    state.page = max(1, state.page + delta)
    state.list_generation += 1


# --------------------------------------------------------------------------------------------
# Before drawing: a row clicked in the list, and the inquiry in the form


def _handle_row_click(state: EntryState, user: User) -> None:
    selection = st.session_state.get(state.list_key)
    rows = (selection or {}).get("selection", {}).get("rows", []) if selection else []
    if not rows or not 0 <= rows[0] < len(state.listed_ids):
        return
    target = state.listed_ids[rows[0]]
    if target == state.inquiry_id:  # the row highlighted for the inquiry in the form
        return
    state.list_generation += 1  # consume the click
    if _dirty(state):
        state.dialog, state.pending_open = "discard", target
        return
    _open(state, user, target)


def _current(state: EntryState, user: User) -> Inquiry | None:
    """The inquiry in the form, as this user may see it now; resets a forged or vanished id.

    While the database cannot be reached: None, and ``state.readonly`` stays as last known, so
    the form is still drawn with what was typed."""
    if state.inquiry_id is None:
        state.readonly = False
        return None
    try:
        with _outage_shown(), db.session_scope(write=False) as session:
            current = inquiries.get(session, actor=user, inquiry_id=state.inquiry_id)
    except NotFound:
        _fill(state, _blank(user), inquiry=None)
        state.notice = ("warning", NOT_FOUND_MESSAGE)
        return None
    except _Outage:
        return None
    state.readonly = current.status != Status.draft
    return current


class _Outage(Exception):
    """The database could not be reached; the message is already on the page."""


@contextmanager
def _outage_shown():
    """Like ``common.db_errors`` but the page goes on (the form must stay on screen): the outage
    is shown once and ``_Outage`` raised for the caller to skip what needed the database."""
    try:
        yield
    except faults.DATABASE_ERRORS as err:
        if not faults.is_outage(err):
            raise
        common.show_outage()
        raise _Outage from err


# --------------------------------------------------------------------------------------------
# Dialogs


@st.dialog("确认提交")
def _confirm_submit_dialog() -> None:
    st.write("提交后询保申请将不能再修改，中国出口信用保险公司将尽快与您联系。确定提交吗？")
    left, right = st.columns(2)
    if left.button("确认提交", type="primary", on_click=_submit_confirmed, width="stretch"):
        st.rerun()
    if right.button("取消", key="entry_cancel_submit", width="stretch"):
        st.rerun()


@st.dialog("放弃未保存的修改？")
def _confirm_discard_dialog() -> None:
    st.write("表单中有尚未保存的修改，继续将丢失这些修改。")
    left, right = st.columns(2)
    if left.button("放弃修改", type="primary", on_click=_discard_confirmed, width="stretch"):
        st.rerun()
    if right.button("继续编辑", key="entry_cancel_discard", width="stretch"):
        st.rerun()


# --------------------------------------------------------------------------------------------
# Drawing


def _label(name: str) -> str:
    return REQUIRED + FIELD_LABELS[name]


def _field_error(state: EntryState, *names: str) -> None:
    for name in names:
        if name in state.errors:
            st.markdown(f":red[{state.errors[name]}]")


def _fmt(value) -> str:
    return clock.show(value)


def _region_selects(state: EntryState, readonly: bool) -> None:
    st.markdown(_label("region"))
    province = st.session_state.get(WIDGET_KEYS["province_code"])
    city = st.session_state.get(WIDGET_KEYS["city_code"])
    col_p, col_c, col_d = st.columns(3)
    col_p.selectbox(
        "省/市",
        [p.code for p in regions.provinces()],
        format_func=regions.name,
        index=None,
        placeholder="请选择省/市",
        key=WIDGET_KEYS["province_code"],
        on_change=_province_changed,
        disabled=readonly,
    )
    city_options = [c.code for c in regions.cities(province)]
    if city_options:
        col_c.selectbox(
            "市",
            city_options,
            format_func=regions.name,
            index=None,
            placeholder="请选择市",
            key=WIDGET_KEYS["city_code"],
            on_change=_city_changed,
            disabled=readonly,
        )
    else:
        if province is None:
            hint = "请先选择省/市"
        elif regions.is_municipality(province):
            hint = "直辖市无需选择"
        else:
            hint = "无需选择"
        col_c.selectbox(
            "市", [], index=None, placeholder=hint, disabled=True, key="entry_city_none"
        )
        city = None
    if regions.is_municipality(province):
        district_options = [d.code for d in regions.districts(province)]
    else:
        district_options = [d.code for d in regions.districts(province, city)] if city else []
    if district_options:
        col_d.selectbox(
            "区",
            district_options,
            format_func=regions.name,
            index=None,
            placeholder="请选择区",
            key=WIDGET_KEYS["district_code"],
            disabled=readonly,
        )
    else:
        if province is None or (city_options and city is None):
            hint = "请先选择市"
        else:
            hint = "该地区无下辖区，无需选择"
        col_d.selectbox(
            "区", [], index=None, placeholder=hint, disabled=True, key="entry_district_none"
        )
    _field_error(state, "region")


def _form(state: EntryState, current: Inquiry | None) -> None:
    readonly = state.readonly
    st.text_input(
        FIELD_LABELS["serial"], disabled=True, placeholder="保存后自动生成", key=SERIAL_KEY
    )
    if current is not None:
        parts = [f"申请状态：**{STATUS_LABELS.get(current.status, current.status)}**"]
        parts.append(f"创建日期：{_fmt(current.created_at)}")
        if current.submitted_at:
            parts.append(f"提交日期：{_fmt(current.submitted_at)}")
        if current.completed_at:
            parts.append(f"完成日期：{_fmt(current.completed_at)}")
        if readonly:
            status = STATUS_LABELS.get(current.status, current.status)
            st.info("　".join(parts) + f"\n\n该询保申请{status}，仅供查看，不能修改。")
        else:
            st.caption("　".join(parts))

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

    if state.errors:
        lines = "\n".join(
            f"- **{FIELD_LABELS.get(name, name)}**：{message}"
            for name, message in state.errors.items()
        )
        st.error(f"请修正以下内容后再保存或提交：\n\n{lines}")

    buttons = st.columns([1, 1, 1, 3])
    buttons[0].button("新增", on_click=_new, width="stretch")
    if not readonly:
        buttons[1].button("保存", on_click=_save, width="stretch")
        buttons[2].button("提交", type="primary", on_click=_request_submit, width="stretch")


def _list(state: EntryState, user: User) -> None:
    st.subheader("询保申请列表")
    try:
        with _outage_shown(), db.session_scope(write=False) as session:
            page = queries.list_page(
                session,
                queries.InquiryFilter(),
                actor=user,
                page=state.page,
                page_size=PAGE_SIZE,
                sort="-created_at",
            )
    except _Outage:
        st.caption("数据库恢复后，这里会重新列出您的询保申请。")
        return
    state.page = page.page
    state.listed_ids = tuple(row.id for row in page.rows)
    if not page.rows:
        st.caption("暂无询保申请。填写上方表单并保存后，申请会显示在这里。")
        return
    table = pd.DataFrame(
        {
            "询保流水号": [r.serial for r in page.rows],
            "公司名称": [r.company_name for r in page.rows],
            "联系人": [r.contact_name for r in page.rows],
            "联系电话": [r.mobile for r in page.rows],
            "联系邮箱": [r.email for r in page.rows],
            "询保内容": [INTENT_LABELS.get(r.intent, r.intent) for r in page.rows],
            "提交日期": [_fmt(r.submitted_at)[:10] for r in page.rows],
            "申请状态": [STATUS_LABELS.get(r.status, r.status) for r in page.rows],
        }
    )
    st.caption(
        "勾选一行左侧的方框即可打开该申请：暂存的申请可继续修改，已提交或已完成的申请仅供查看。"
    )
    loaded = (
        state.listed_ids.index(state.inquiry_id) if state.inquiry_id in state.listed_ids else None
    )
    st.dataframe(
        table,
        hide_index=True,
        height=38 + 35 * len(page.rows),  # every row of the page, no inner scrolling
        column_config={
            "询保流水号": st.column_config.TextColumn(width=150),
            "公司名称": st.column_config.TextColumn(width=130),
            "联系人": st.column_config.TextColumn(width=70),
            "联系电话": st.column_config.TextColumn(width=100),
            "联系邮箱": st.column_config.TextColumn(width=150),
            "询保内容": st.column_config.TextColumn(width=120),
            "提交日期": st.column_config.TextColumn(width=90),
            "申请状态": st.column_config.TextColumn(width=70),
        },
        key=state.list_key,
        on_select="rerun",
        selection_mode="single-row",
        selection_default={"selection": {"rows": [loaded]}} if loaded is not None else None,
    )
    if page.pages > 1:
        prev_col, info_col, next_col = st.columns([1, 2, 1])
        prev_col.button(
            "上一页", on_click=_turn_page, args=(-1,), disabled=page.page <= 1, width="stretch"
        )
        info_col.caption(f"第 {page.page} / {page.pages} 页，共 {page.total} 条")
        next_col.button(
            "下一页",
            on_click=_turn_page,
            args=(1,),
            disabled=page.page >= page.pages,
            width="stretch",
        )


def _notice(state: EntryState) -> None:
    if state.notice is None:
        return
    kind, message = state.notice
    state.notice = None
    common.show_message(kind, message)


# --------------------------------------------------------------------------------------------
# The page

user = common.require_role(Role.enterprise.value)
state = _state(user)
_restore_typed(state)
try:
    with _outage_shown():
        _handle_row_click(state, user)
except _Outage:
    pass
current = _current(state, user)

st.title("询保申请")
st.markdown("请填写以下内容，中国出口信用保险公司将及时与您联系")
main, side = st.columns([3, 1], gap="large")
with main:
    _notice(state)
    _form(state, current)
_keep_typed(state)
with side, st.container(border=True):
    st.markdown(entry_info.markdown())
_list(state, user)

dialog, state.dialog = state.dialog, None
if dialog == "submit":
    _confirm_submit_dialog()
elif dialog == "discard":
    _confirm_discard_dialog()
