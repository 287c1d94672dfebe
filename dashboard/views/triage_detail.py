"""咨询处理's detail panel and its actions: one inquiry's fields, claim, assign, note and complete,
its audit trail and possible duplicates; and the bulk completion of a selection.

Writes run in button callbacks, whose arguments were bound when the button was drawn: the
version the user saw is what ``complete`` compares, so a concurrent change becomes a Conflict
message instead of an overwrite. The acting user is read again in every callback. The result
of an action shows right under the button that was pressed (``show_result``): a user who scrolled
down to the buttons would not see a message at the top of the page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import clock, db, inquiries, queries, regions
from dashboard.errors import Conflict, NotAllowed, NotFound
from dashboard.views import common, outcome
from dashboard.views.triage_state import K, Place, clear_selection, state
from models import ACTION_LABELS, INTENT_LABELS, STATUS_LABELS, User

STAFF_ROLES = ("staff", "manager")
# No max_chars on text areas: the browser would silently drop a longer paste and keep the old
# text; the domain refuses it instead, naming the field and the limit.
NOTE_HINT = f"不超过{inquiries.MAX_NOTE_LENGTH}个字符"
MATCH_LABELS = {"company_name": "公司名称", "mobile": "联系手机", "email": "联系邮箱"}
# Said in the placeholders (a help icon would add a second element with the field's name).
REPLY_HINT = "将通过邮件发送给企业，并显示在其询保申请中"
INTERNAL_HINT = "仅内部可见，企业看不到"
#: Who did what the system did by itself (a routing rule's assignment has no actor).
SYSTEM = "系统"


# --------------------------------------------------------------------------------------------
# Writes (button callbacks: they run before the page is drawn again)


def _write(action, success: str, place: Place) -> bool:
    """Run ``action(session, actor)`` for the staff member as the database holds them now and
    keep the outcome for ``show_result`` at ``place`` (``outcome.act``). True on success."""
    return outcome.act(
        state(),
        place,
        action,
        success,
        roles=STAFF_ROLES,
        reloaded=(Conflict, NotFound, NotAllowed),
    )


def show_result(*places: Place) -> None:
    """The last action's result, here if it belongs to one of ``places`` (shown once)."""
    outcome.show(state(), *places)


def toast_result() -> None:
    """A result that no place showed (its panel was not drawn on this run), as a toast."""
    outcome.toast_unshown(state())


def do_complete(ids_versions: dict[int, int], note_key: str, label: str, place: Place) -> None:
    note = st.session_state.get(note_key, "")

    def action(session, actor):
        inquiries.complete(
            session,
            actor=actor,
            inquiry_ids=list(ids_versions),
            note=note,
            expected_versions=ids_versions,
        )

    if _write(action, f"已将 {label} 标记为已完成", place):
        st.session_state[note_key] = ""
    state().confirm_bulk = False
    # Clear the table's selection either way: it holds row positions, and the rows under them
    # change with a completion (here or, in a conflict, elsewhere).
    clear_selection()


def do_assign(inquiry_id: int, assignee_id: int | None, label: str) -> None:
    _write(
        lambda s, actor: inquiries.assign(
            s, actor=actor, inquiry_id=inquiry_id, assignee_id=assignee_id
        ),
        f"已将负责人设为 {common.md_escape(label)}",
        "assign",
    )


def do_assign_chosen(inquiry_id: int, choices: dict[int, str]) -> None:
    """分配: the colleague chosen in the select box *now*. A click sent before the rerun of a
    new choice finished carries that choice in the session state, not in the button's args."""
    chosen = st.session_state.get(K + "assign_to")
    if chosen in choices:
        do_assign(inquiry_id, chosen, choices[chosen])


def do_note(inquiry_id: int, note_key: str) -> None:
    text = st.session_state.get(note_key, "")
    if _write(
        lambda s, actor: inquiries.add_note(s, actor=actor, inquiry_id=inquiry_id, text=text),
        "备注已添加",
        "note",
    ):
        st.session_state[note_key] = ""


def open_inquiry(inquiry_id: int | None) -> None:
    page = state()
    page.open_id = inquiry_id
    page.shown = None  # opening it again is a new view


def detail(user: User, inquiry_id: int, colleagues: list) -> None:
    page = state()
    try:
        with common.db_errors(), db.session_scope(write=False) as session:
            current = inquiries.get(session, actor=user, inquiry_id=inquiry_id)
            trail = inquiries.events(session, actor=user, inquiry_id=inquiry_id)
            dups = queries.possible_duplicates(session, actor=user, inquiry=current)
            names = queries.user_labels(session, [current.assignee_id])
        shown = page.shown
        if shown is None or (shown.inquiry.id, shown.inquiry.version) != (
            current.id,
            current.version,
        ):
            # A write scope: a full view is logged in the transaction that reads it.
            with common.db_errors(), db.session_scope() as session:
                shown = page.shown = inquiries.detail(session, actor=user, inquiry_id=inquiry_id)
    except NotFound:
        page.shown = None
        st.warning("找不到该询保申请")
        st.button("关闭", on_click=open_inquiry, args=(None,), key=K + "close_missing")
        return
    inq = shown.inquiry
    head, close = st.columns([4, 1])
    head.subheader(f"询保申请 {inq.serial}")
    close.button("关闭", on_click=open_inquiry, args=(None,), key=K + "close")
    if shown.full:
        st.caption("联系方式完整显示，仅供处理该申请使用；本次查看已记入访问记录。")
    else:
        st.caption(shown.notice)
    _fields(inq, names)
    _actions(user, inq, colleagues)
    _trail(trail)
    _duplicates(dups)


def _fields(inq, names: dict[int, str]) -> None:
    fields = {
        "询保流水号": inq.serial,
        "公司名称": inq.company_name,
        "注册地址": regions.full_name(inq.province_code, inq.city_code, inq.district_code),
        "详细地址": inq.address_detail,
        "联系人": inq.contact_name,
        "联系手机": inq.mobile,
        "联系固话": inq.landline,
        "联系邮箱": inq.email,
        "询保内容": INTENT_LABELS.get(inq.intent, inq.intent),
        "其他需求": inq.other_needs or "",
        "申请状态": STATUS_LABELS.get(inq.status, inq.status),
        "负责人": names.get(inq.assignee_id, "未分配"),
        "提交时间": clock.show(inq.submitted_at),
        "完成时间": clock.show(inq.completed_at),
    }
    st.dataframe(
        pd.DataFrame({"字段": list(fields), "内容": list(fields.values())}),
        hide_index=True,
        width="stretch",
        height=(len(fields) + 1) * 35 + 3,  # every field visible, no inner scrolling
        key=K + "fields",
    )


def _actions(user: User, inq, colleagues: list) -> None:
    """认领, 分配, 标记为已完成 (only while the inquiry is submitted) and 添加备注, each with the
    result of its last use right under it."""
    if inq.status == "submitted":
        st.markdown("**处理**")
        if inq.assignee_id != user.id:
            st.button(
                "认领",
                key=K + "claim",
                on_click=do_assign,
                args=(inq.id, user.id, user.label),
            )
        choices = {u.id: u.label for u in colleagues}
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        target = c1.selectbox("分配给", list(choices), format_func=choices.get, key=K + "assign_to")
        c2.button(
            "分配",
            key=K + "assign",
            on_click=do_assign_chosen,
            args=(inq.id, choices),
            disabled=target is None,
        )
        show_result("assign")
        note_key = K + f"complete_note_{inq.id}"
        st.text_area(
            inquiries.REPLY_LABEL, key=note_key, placeholder=f"必填，{REPLY_HINT}；{NOTE_HINT}"
        )
        st.button(
            "标记为已完成",
            type="primary",
            key=K + "complete",
            on_click=do_complete,
            args=({inq.id: inq.version}, note_key, f"询保申请 {inq.serial}", "complete"),
        )
        show_result("complete")
    else:
        # Just completed (here or elsewhere): the 处理 buttons are gone, so their result takes
        # their place.
        show_result("complete", "assign")
    note_key = K + f"note_{inq.id}"
    st.text_area("备注内容", key=note_key, placeholder=f"{INTERNAL_HINT}；{NOTE_HINT}")
    st.button("添加备注", key=K + "add_note", on_click=do_note, args=(inq.id, note_key))
    show_result("note")


def _trail(trail) -> None:
    """The audit trail, oldest first: per event the time, who, what (with the status change)
    and the note in full. A list rather than a table: in the detail panel's width a table cuts
    the notes off."""
    st.markdown("**处理记录**")
    for event, name in trail:
        change = ""
        if event.from_status and event.from_status != event.to_status:
            change = (
                f"（{STATUS_LABELS.get(event.from_status, event.from_status)}→"
                f"{STATUS_LABELS.get(event.to_status, event.to_status)}）"
            )
        action = ACTION_LABELS.get(event.action, event.action)
        with st.container(gap="small"):
            who = common.md_escape(name) if event.actor_id is not None else SYSTEM
            st.caption(f"{clock.show(event.at)}　{who}　{action}{change}")
            if event.note:
                # Escaped, and its line breaks kept (markdown would join the lines). A
                # completion's note is the reply the company reads: said so.
                text = "  \n".join(common.md_escape(line) for line in event.note.splitlines())
                if event.action == "completed":
                    text = f"{inquiries.REPLY_LABEL}：{text}"
                st.markdown(text)


def _duplicates(dups) -> None:
    st.markdown("**可能重复的申请**")
    if not dups:
        st.caption("没有公司名称、联系手机或联系邮箱相同的其他申请")
    for other, matched in dups:
        st.button(
            f"{other.serial} · {common.md_escape(other.company_name)} · 相同："
            + "、".join(MATCH_LABELS[m] for m in matched),
            key=K + f"dup_{other.id}",
            type="tertiary",
            on_click=open_inquiry,
            args=(other.id,),
        )


def bulk_panel(selected: dict[int, int]) -> None:
    """批量标记为已完成 for the selected rows that are still submitted, after a confirmation;
    the result of the last bulk completion shows under the buttons."""
    st.info(f"已选择 {len(selected)} 条询保申请")
    note_key = K + "bulk_note"
    st.text_area(
        f"{inquiries.REPLY_LABEL}（所选申请共用，可不填）",
        key=note_key,
        placeholder=f"{REPLY_HINT}；{NOTE_HINT}",
    )
    page = state()
    if not page.confirm_bulk:
        if st.button("批量标记为已完成", type="primary", key=K + "bulk"):
            page.confirm_bulk = True
            st.rerun()
        show_result("bulk")
        return
    st.warning(f"确认将这 {len(selected)} 条询保申请标记为已完成？")
    c1, c2 = st.columns(2)
    c1.button(
        f"确认完成 {len(selected)} 条",
        type="primary",
        key=K + "bulk_confirm",
        on_click=do_complete,
        args=(selected, note_key, f"{len(selected)} 条询保申请", "bulk"),
    )
    if c2.button("取消", key=K + "bulk_cancel"):
        page.confirm_bulk = False
        st.rerun()
    show_result("bulk")
