"""投保咨询's actions: the button callbacks (新增, 保存, 提交, 删除, reopen after a conflict, a row
clicked in the list, the list's pages), their confirmation dialogs, and what is read before the
form is drawn (the inquiry in the form, as this user may see it now).

Buttons act in ``on_click`` callbacks, which run before the page is drawn, so that a save can put
the serial and the normalised values into the form in the same run. Every failure becomes a
message (``state.notice``, ``state.toast``, field errors), never a lost form.
"""

from __future__ import annotations

import functools

import streamlit as st

from dashboard import db, inquiries
from dashboard.errors import Conflict, FormInvalid, NotAllowed, NotFound
from dashboard.views import common, entry_list
from dashboard.views.entry_state import (
    SERIAL_KEY,
    WIDGET_KEYS,
    EntryState,
    Outage,
    blank_form,
    dirty,
    load_form,
    outage_shown,
    page_state,
    typed,
)
from models import STATUS_LABELS, Inquiry, InquiryForm, Role, Status, User

NOT_FOUND_MESSAGE = "找不到该询保申请，已为您打开一张空白的询保申请。"


def _for_user(callback):
    """A button callback, run as ``callback(state, user, *args)`` for the enterprise user as
    the database holds them now; nothing when they may no longer act (the rerun then shows the
    login page, and the form is kept for them)."""

    @functools.wraps(callback)
    def run(*args) -> None:
        user = common.acting_user(Role.enterprise.value)
        if user is not None:
            callback(page_state(user), user, *args)

    return run


# --------------------------------------------------------------------------------------------
# Button callbacks: they run before the page is drawn


def _guarded(state: EntryState, action) -> None:
    """Run one domain action; turn every failure into a message, never a lost form."""
    state.errors, state.conflict = {}, None
    try:
        action()
    except FormInvalid as err:
        _invalid(state, err.errors)
    except (Conflict, NotAllowed) as err:  # changed or submitted in another tab
        state.conflict = common.md_escape(str(err))
        state.toast = ("error", state.conflict)
    except Exception as err:  # an outage, anything else: a message, never a trace
        message = common.failure_message(err)
        if message != common.DB_UNAVAILABLE:  # show_outage compares the text as it is
            message = common.md_escape(message)
        state.notice = ("error", message)


def _invalid(state: EntryState, errors: dict[str, str]) -> None:
    """Field errors: each under its field, the summary under the buttons, and a toast, because
    the errors push the buttons down and may push the summary out of view."""
    state.errors = errors
    state.toast = ("warning", f"有 {len(errors)} 项内容需要修正，请查看表单中的红色提示。")


@_for_user
def new(state: EntryState, user: User) -> None:
    if dirty(state):  # a read-only form is never dirty: its widgets are disabled
        state.dialog, state.pending_open = "discard", None
    else:
        load_form(state, blank_form(user), inquiry=None)


@_for_user
def _discard_confirmed(state: EntryState, user: User) -> None:
    target, state.pending_open = state.pending_open, None
    if target is None:
        load_form(state, blank_form(user), inquiry=None)
    else:
        _guarded(state, lambda: open_inquiry(state, user, target))


def _write(state: EntryState, user: User, domain_call, message: str) -> None:
    """Save or submit the typed form, then show the stored inquiry (serial, normalised values)."""

    def action() -> None:
        is_new = state.inquiry_id is None
        with db.session_scope() as session:
            inquiry = domain_call(
                session,
                actor=user,
                form=typed(),
                inquiry_id=state.inquiry_id,
                expected_version=state.version,
            )
        common.clear_caches()
        load_form(state, InquiryForm.from_inquiry(inquiry), inquiry=inquiry)
        if is_new:
            state.page = 1  # where the new row is listed
        state.notice = ("success", message.format(serial=inquiry.serial))

    _guarded(state, action)


@_for_user
def save(state: EntryState, user: User) -> None:
    _write(state, user, inquiries.save_draft, "已保存为暂存，询保流水号 {serial}")


@_for_user
def request_submit(state: EntryState, user: User) -> None:
    errors = typed().errors()
    state.conflict = None
    if errors:
        _invalid(state, errors)
    else:
        state.errors = {}
        state.dialog = "submit"


@_for_user
def reopen(state: EntryState, user: User) -> None:
    """After a conflict: load the inquiry as stored now (the changes made elsewhere)."""
    if state.inquiry_id is not None:
        _guarded(state, lambda: open_inquiry(state, user, state.inquiry_id, done="已重新载入"))


@_for_user
def _submit_confirmed(state: EntryState, user: User) -> None:
    _write(state, user, inquiries.submit, "已提交，询保流水号 {serial}。我们将及时与您联系。")


@_for_user
def request_delete(state: EntryState, user: User) -> None:
    if state.inquiry_id is not None and not state.readonly:
        state.dialog = "delete"


@_for_user
def _delete_confirmed(state: EntryState, user: User) -> None:
    """删除 after the confirmation: the draft in the form, as the user last saw it (a change
    made in another tab meanwhile is a conflict, not a silent deletion); then a blank form."""

    def action() -> None:
        with db.session_scope() as session:
            serial = inquiries.delete_draft(
                session, actor=user, inquiry_id=state.inquiry_id, expected_version=state.version
            )
        common.clear_caches()
        load_form(state, blank_form(user), inquiry=None)
        state.notice = ("success", f"已删除暂存的询保申请 {serial}")

    if state.inquiry_id is not None:
        _guarded(state, action)


def open_inquiry(
    state: EntryState, user: User, inquiry_id: int, *, done: str = "已在上方表单中打开"
) -> None:
    """Load an inquiry into the form; ``done`` starts the toast (a row is clicked in the list
    under the form, so by default it says that the form above changed)."""
    try:
        with db.session_scope(write=False) as session:
            inquiry = inquiries.get(session, actor=user, inquiry_id=inquiry_id)
    except NotFound:
        load_form(state, blank_form(user), inquiry=None)
        state.notice = ("warning", NOT_FOUND_MESSAGE)
        return
    load_form(state, InquiryForm.from_inquiry(inquiry), inquiry=inquiry)
    status = STATUS_LABELS.get(inquiry.status, inquiry.status)
    state.toast = ("info", f"{done}询保申请 {inquiry.serial}（{status}）")


def province_changed() -> None:
    st.session_state[WIDGET_KEYS["city_code"]] = None
    st.session_state[WIDGET_KEYS["district_code"]] = None


def city_changed() -> None:
    st.session_state[WIDGET_KEYS["district_code"]] = None


@_for_user
def turn_page(state: EntryState, user: User, delta: int) -> None:
    state.page = max(1, state.page + delta)
    state.list_generation += 1


# --------------------------------------------------------------------------------------------
# Before drawing: a row clicked in the list, and the inquiry in the form


def handle_row_click(state: EntryState, user: User) -> None:
    picked = [
        state.listed_ids[i]
        for i in entry_list.clicked_rows(state)
        if 0 <= i < len(state.listed_ids)
    ]
    # The row of the inquiry already in the form is no request to open anything.
    target = next((inquiry_id for inquiry_id in picked if inquiry_id != state.inquiry_id), None)
    if target is None:
        return
    state.list_generation += 1  # consume the click
    if dirty(state):
        state.dialog, state.pending_open = "discard", target
        return
    open_inquiry(state, user, target)


def current(state: EntryState, user: User) -> Inquiry | None:
    """The inquiry in the form, as this user may see it now; resets a forged or vanished id.

    While the database cannot be reached: None, and ``state.readonly`` stays as last known, so
    the form is still drawn with what was typed."""
    if state.inquiry_id is None:
        state.readonly = False
        return None
    try:
        with outage_shown(), db.session_scope(write=False) as session:
            found = inquiries.get(session, actor=user, inquiry_id=state.inquiry_id)
    except NotFound:
        load_form(state, blank_form(user), inquiry=None)
        state.notice = ("warning", NOT_FOUND_MESSAGE)
        return None
    except Outage:
        return None
    state.readonly = found.status != Status.draft
    return found


# --------------------------------------------------------------------------------------------
# Dialogs: each asks once, on the run after the button that opened it


def _confirm(text: str, confirm: str, on_confirm, cancel: str, cancel_key: str) -> None:
    st.write(text)
    left, right = st.columns(2)
    if left.button(confirm, type="primary", on_click=on_confirm, width="stretch"):
        st.rerun()
    if right.button(cancel, key=cancel_key, width="stretch"):
        st.rerun()


@st.dialog("确认提交")
def _confirm_submit_dialog() -> None:
    _confirm(
        "提交后询保申请将不能再修改，中国出口信用保险公司将尽快与您联系。确定提交吗？",
        "确认提交",
        _submit_confirmed,
        "取消",
        "entry_cancel_submit",
    )


@st.dialog("删除暂存的询保申请？")
def _confirm_delete_dialog() -> None:
    serial = st.session_state.get(SERIAL_KEY) or ""
    _confirm(
        f"将删除暂存的询保申请 {serial} 及其全部填写内容，删除后无法恢复。确定删除吗？",
        "确认删除",
        _delete_confirmed,
        "取消",
        "entry_cancel_delete",
    )


@st.dialog("放弃未保存的修改？")
def _confirm_discard_dialog() -> None:
    _confirm(
        "表单中有尚未保存的修改，继续将丢失这些修改。",
        "放弃修改",
        _discard_confirmed,
        "继续编辑",
        "entry_cancel_discard",
    )


DIALOGS = {
    "submit": _confirm_submit_dialog,
    "discard": _confirm_discard_dialog,
    "delete": _confirm_delete_dialog,
}


def open_dialog(state: EntryState) -> None:
    """The dialog an action asked for (``state.dialog``), once."""
    dialog, state.dialog = state.dialog, None
    if dialog in DIALOGS:
        DIALOGS[dialog]()
