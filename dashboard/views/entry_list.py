"""The company's own list of inquiries under the form of 投保咨询: a click on a row opens it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import clock, db, queries
from dashboard.views.entry_state import EntryState, Outage, outage_shown
from models import INTENT_LABELS, STATUS_LABELS, User

PAGE_SIZE = 20
EMPTY_LIST = "您还没有询保申请。填写上方表单并保存后，申请会显示在这里。"


def clicked_rows(state: EntryState) -> list[int]:
    """The list positions the user picked: a clicked cell's row first (the newest click), then
    a ticked row. Cell and row selections add up in the grid, so the row highlighted for the
    inquiry in the form may still be ticked while another row's cell is clicked."""
    selection = (st.session_state.get(state.list_key) or {}).get("selection") or {}
    cells = [cell[0] for cell in selection.get("cells") or []]
    return [*cells, *(selection.get("rows") or [])]


def show(state: EntryState, user: User, *, on_turn) -> None:
    """The company's own inquiries, a page at a time; ``on_turn(delta)`` turns the page."""
    st.subheader("询保申请列表")
    try:
        with outage_shown(), db.session_scope(write=False) as session:
            page = queries.list_page(
                session,
                queries.InquiryFilter(),
                actor=user,
                page=state.page,
                page_size=PAGE_SIZE,
                sort="-created_at",
            )
    except Outage:
        st.caption("数据库恢复后，这里会重新列出您的询保申请。")
        return
    state.page = page.page
    state.listed_ids = tuple(row.id for row in page.rows)
    if not page.rows:
        st.info(EMPTY_LIST, icon=":material/inbox:")
        return
    table = pd.DataFrame(
        {
            "询保流水号": [r.serial for r in page.rows],
            "公司名称": [r.company_name for r in page.rows],
            "联系人": [r.contact_name for r in page.rows],
            "联系电话": [r.mobile for r in page.rows],
            "联系邮箱": [r.email for r in page.rows],
            "询保内容": [INTENT_LABELS.get(r.intent, r.intent) for r in page.rows],
            "提交日期": [clock.show(r.submitted_at)[:10] for r in page.rows],
            "申请状态": [STATUS_LABELS.get(r.status, r.status) for r in page.rows],
        }
    )
    # The list holds only this company's inquiries, so 公司名称 mostly repeats the account's own
    # name, and at laptop width it would push 申请状态 out of view. The field is editable per
    # inquiry (a branch, a renamed company), so the column shows when it tells rows apart.
    if len(set(table["公司名称"])) == 1:
        table = table.drop(columns="公司名称")
    st.caption(
        "点击一行即可在上方表单中打开该申请：暂存的申请可继续修改或删除，已提交或已完成的申请仅供查看。"
    )
    loaded = (
        state.listed_ids.index(state.inquiry_id) if state.inquiry_id in state.listed_ids else None
    )
    st.dataframe(
        table,
        hide_index=True,
        height=38 + 35 * len(page.rows),  # every row of the page, no inner scrolling
        key=state.list_key,
        on_select="rerun",
        # A click on any cell opens its row ("single-row" alone reacts to the checkbox only).
        selection_mode=["single-row", "single-cell"],
        selection_default={"selection": {"rows": [loaded]}} if loaded is not None else None,
    )
    if page.pages > 1:
        prev_col, info_col, next_col = st.columns([1, 2, 1])
        prev_col.button(
            "上一页", on_click=on_turn, args=(-1,), disabled=page.page <= 1, width="stretch"
        )
        info_col.caption(f"第 {page.page} / {page.pages} 页，共 {page.total} 条")
        next_col.button(
            "下一页",
            on_click=on_turn,
            args=(1,),
            disabled=page.page >= page.pages,
            width="stretch",
        )
