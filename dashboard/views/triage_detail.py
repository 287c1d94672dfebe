"""咨询处理's detail panel and its actions: one inquiry's fields, claim, assign, note and complete,
its audit trail and possible duplicates; and the bulk completion of a selection.

Writes run in button callbacks, whose arguments were bound when the button was drawn: the
version the user saw is what ``complete`` compares, so a concurrent change becomes a Conflict
message instead of an overwrite. The acting user is read again in every callback.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import clock, db, inquiries, queries, regions
from dashboard.errors import Conflict, NotAllowed, NotFound
from dashboard.views import common
from dashboard.views.triage_state import K, state
from models import ACTION_LABELS, INTENT_LABELS, STATUS_LABELS, User

STAFF_ROLES = ("staff", "manager")
# No max_chars on text areas: the browser would silently drop a longer paste and keep the old
# text; the domain refuses it instead, naming the field and the limit.
NOTE_HINT = f"不超过{inquiries.MAX_NOTE_LENGTH}个字符"
MATCH_LABELS = {"company_name": "公司名称", "mobile": "联系手机", "email": "联系邮箱"}


# --------------------------------------------------------------------------------------------
# Writes (button callbacks: they run before the page is drawn again)


def flash(kind: str, text: str) -> None:
    state().flash = (kind, text)


def _write(action, success: str) -> None:
    """Run ``action(session, actor)`` for the user as the database holds them now: the ``user``
    of the run that drew the button may have been deactivated, demoted or timed out since (then
    nothing is done and the rerun shows the login page). ``success`` is markdown: user text in
    it must be escaped."""
    actor = common.acting_user(*STAFF_ROLES)
    if actor is None:
        return
    try:
        with db.session_scope() as session:
            action(session, actor)
    except (Conflict, NotFound, NotAllowed) as err:
        flash("error", f"{err}（已重新加载最新数据）")
    except Exception as err:  # FormInvalid, an outage, anything else: a message, never a trace
        flash("error", common.failure_message(err))
    else:
        flash("success", success)
    common.clear_caches()


def do_complete(ids_versions: dict[int, int], note_key: str, label: str) -> None:
    note = st.session_state.get(note_key, "")

    def action(session, actor):
        inquiries.complete(
            session,
            actor=actor,
            inquiry_ids=list(ids_versions),
            note=note,
            expected_versions=ids_versions,
        )

    _write(action, f"已将 {label} 标记为已完成")
    page = state()
    page.confirm_bulk = False
    if page.flash and page.flash[0] == "success":
        st.session_state[note_key] = ""
        page.table_generation += 1


def do_assign(inquiry_id: int, assignee_id: int | None, label: str) -> None:
    _write(
        lambda s, actor: inquiries.assign(
            s, actor=actor, inquiry_id=inquiry_id, assignee_id=assignee_id
        ),
        f"已将负责人设为 {common.md_escape(label)}",
    )


def do_assign_chosen(inquiry_id: int, choices: dict[int, str]) -> None:
    """分配: the colleague chosen in the select box *now*. A click sent before the rerun of a
    new choice finished carries that choice in the session state, not in the button's args."""
    chosen = st.session_state.get(K + "assign_to")
    if chosen in choices:
        do_assign(inquiry_id, chosen, choices[chosen])


def do_note(inquiry_id: int, note_key: str) -> None:
    text = st.session_state.get(note_key, "")
    _write(
        lambda s, actor: inquiries.add_note(s, actor=actor, inquiry_id=inquiry_id, text=text),
        "备注已添加",
    )
    if (state().flash or ("",))[0] == "success":
        st.session_state[note_key] = ""


def open_inquiry(inquiry_id: int | None) -> None:
    state().open_id = inquiry_id


def detail(user: User, inquiry_id: int, colleagues: list) -> None:
    try:
        with common.db_errors(), db.session_scope(write=False) as session:
            inq = inquiries.get(session, actor=user, inquiry_id=inquiry_id)
            trail = inquiries.events(session, actor=user, inquiry_id=inquiry_id)
            dups = queries.possible_duplicates(session, actor=user, inquiry=inq)
            names = queries.user_labels(session, [inq.assignee_id])
    except NotFound:
        st.warning("找不到该询保申请")
        st.button("关闭", on_click=open_inquiry, args=(None,), key=K + "close_missing")
        return
    head, close = st.columns([4, 1])
    head.subheader(f"询保申请 {inq.serial}")
    close.button("关闭", on_click=open_inquiry, args=(None,), key=K + "close")
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
    """认领, 分配, 标记为已完成 (only while the inquiry is submitted) and 添加备注."""
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
        note_key = K + f"complete_note_{inq.id}"
        st.text_area("完成备注（可选）", key=note_key, placeholder=NOTE_HINT)
        st.button(
            "标记为已完成",
            type="primary",
            key=K + "complete",
            on_click=do_complete,
            args=({inq.id: inq.version}, note_key, f"询保申请 {inq.serial}"),
        )
    note_key = K + f"note_{inq.id}"
    st.text_area("备注内容", key=note_key, placeholder=NOTE_HINT)
    st.button("添加备注", key=K + "add_note", on_click=do_note, args=(inq.id, note_key))


def _trail(trail) -> None:
    st.markdown("**处理记录**")
    st.dataframe(
        pd.DataFrame(
            {
                "时间": [clock.show(e.at) for e, _ in trail],
                "操作人": [name for _, name in trail],
                "操作": [ACTION_LABELS.get(e.action, e.action) for e, _ in trail],
                "状态": [
                    f"{STATUS_LABELS.get(e.from_status, '')}→{STATUS_LABELS.get(e.to_status, '')}"
                    if e.from_status != e.to_status
                    else STATUS_LABELS.get(e.to_status or "", "")
                    for e, _ in trail
                ],
                "备注": [e.note for e, _ in trail],
            }
        ),
        hide_index=True,
        width="stretch",
        key=K + "trail",
    )


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
    st.info(f"已选择 {len(selected)} 条询保申请")
    note_key = K + "bulk_note"
    st.text_area("批量完成备注（可选）", key=note_key, placeholder=NOTE_HINT)
    page = state()
    if not page.confirm_bulk:
        if st.button("批量标记为已完成", type="primary", key=K + "bulk"):
            page.confirm_bulk = True
            st.rerun()
        return
    st.warning(f"确认将这 {len(selected)} 条询保申请标记为已完成？")
    c1, c2 = st.columns(2)
    c1.button(
        f"确认完成 {len(selected)} 条",
        type="primary",
        key=K + "bulk_confirm",
        on_click=do_complete,
        args=(selected, note_key, f"{len(selected)} 条询保申请"),
    )
    if c2.button("取消", key=K + "bulk_cancel"):
        page.confirm_bulk = False
        st.rerun()
