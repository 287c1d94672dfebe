"""咨询处理's list: one page of the result, its totals, and the table with its columns.

What the list shows fits a 1440 px window without sideways scrolling (``LIST_COLUMNS``, fewer
beside the detail panel), and it is sorted only as a whole, by 排序 or by a click on the 询保流水号
or 提交日期 header, never just the rows on screen.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import clock, queries, regions
from dashboard.settings import get_settings
from dashboard.views import common
from dashboard.views.triage_filters import to_first_page
from dashboard.views.triage_state import K, has_selection, state, table_key
from models import INTENT_LABELS, STATUS_LABELS, Inquiry, utcnow

#: The list's columns (all of ``page_frame``) and their widths in pixels. The columns shown by
#: default fit the table without horizontal scrolling in a 1440 px wide window with the sidebar
#: open: about 945 px for the full width, 545 px beside the detail panel (3:2).
COLUMN_WIDTHS = {
    "询保流水号": 146,
    "公司名称": 180,
    "地区": 74,
    "联系人": 72,
    "联系电话": 216,
    "联系邮箱": 200,
    "询保内容": 130,
    "提交日期": 88,
    "申请状态": 74,
    "负责人": 104,
    "等待时长": 96,
    "超时": 48,
}
#: Shown on the full width. The contact columns are in the detail panel and the export (the
#: table's column menu can show them too; a list only ever holds them masked: privacy.listed).
LIST_COLUMNS = (
    "询保流水号",
    "公司名称",
    "地区",
    "询保内容",
    "提交日期",
    "申请状态",
    "负责人",
    "等待时长",
    "超时",
)
#: Shown beside the detail panel, which has everything else of the open inquiry.
NARROW_COLUMNS = ("公司名称", "申请状态", "负责人", "等待时长", "超时")
NARROW_COMPANY_WIDTH = 216
#: Rows visible at once: with the header and the controls above, the table ends within a 900 px
#: high window. Streamlit's default height shows only 10.
TABLE_ROWS = 13
ROW_HEIGHT = 35  # Streamlit's default row height
#: A click on one of these headers sorts the whole result, as 排序 does (Streamlit's own header
#: sort would sort only the rows on screen): the first click sorts the first way, the next the
#: other way.
HEADER_SORTS = {
    "询保流水号": ("-serial", "serial"),
    "提交日期": ("-submitted_at", "submitted_at"),
}
EMPTY_TEXT = "没有符合条件的询保申请"
#: Streamlit's column menu (⋮ on a header) offers "Sort ascending/descending", which sort only the
#: rows on screen, and no option turns them off: hide them (the first two items of the menu and
#: the divider after them; the e2e tests check that they stay hidden).
HIDE_MENU_SORT = """<style>
[data-testid="stDataFrameColumnMenu"] [role="menu"] > [role="menuitem"]:nth-child(-n+3),
[data-testid="stDataFrameColumnMenu"] [role="menu"] > [role="menuitem"]:nth-child(3) + :not([role])
{ display: none; }
</style>"""


#: Scrolls the list's grid to its top: a table kept under its key takes other rows in place and
#: keeps its scroll position, but a new result should start at its first row. Only the grid's own
#: scroller in the element with that key is touched, after the new rows are drawn.
SCROLL_TO_TOP = """<script>/* {count} */
requestAnimationFrame(() => requestAnimationFrame(() => {{
  const scroller = document.querySelector('.st-key-{key} .dvn-scroller');
  if (scroller) scroller.scrollTop = 0;
}}));
</script>"""


def page_frame(rows: list[Inquiry], names: dict[int, str], cutoff: datetime) -> pd.DataFrame:
    now = utcnow()
    return pd.DataFrame(
        {
            "询保流水号": [r.serial for r in rows],
            "公司名称": [r.company_name for r in rows],
            # The city alone (a municipality's own name) keeps the column short; the detail
            # panel has the whole address.
            "地区": [regions.name(r.city_code) or regions.name(r.province_code) for r in rows],
            "联系人": [r.contact_name for r in rows],
            "联系电话": [f"{r.mobile} / {r.landline}" for r in rows],
            "联系邮箱": [r.email for r in rows],
            "询保内容": [INTENT_LABELS.get(r.intent, r.intent) for r in rows],
            "提交日期": [
                clock.local_time(r.submitted_at).date().isoformat() if r.submitted_at else ""
                for r in rows
            ],
            "申请状态": [STATUS_LABELS.get(r.status, r.status) for r in rows],
            "负责人": [names.get(r.assignee_id, "未分配") for r in rows],
            "等待时长": [clock.waited(r.submitted_at, r.completed_at, now) for r in rows],
            "超时": [clock.is_overdue(r.status, r.submitted_at, cutoff) for r in rows],
        }
    )


def column_config(narrow: bool, sort: str) -> dict:
    """Labels, widths and header tips of the list's columns; the column that the list is sorted
    by carries an arrow."""
    arrows = {
        column: "↓" if sort == ways[0] else "↑"
        for column, ways in HEADER_SORTS.items()
        if sort in ways
    }
    tips = {
        "询保流水号": "点击列名按流水号排序（全部结果）",
        "提交日期": "点击列名按提交日期排序（全部结果）",
        "地区": "所在城市；直辖市显示市名",
        "等待时长": "从提交到完成，未完成的到现在",
        "超时": f"等待超过 {get_settings().sla_working_days} 个工作日仍未完成",
    }
    config: dict = {}
    for column, width in COLUMN_WIDTHS.items():
        if narrow and column == "公司名称":
            width = NARROW_COMPANY_WIDTH
        label = f"{column} {arrows[column]}" if column in arrows else column
        kind = st.column_config.CheckboxColumn if column == "超时" else st.column_config.TextColumn
        config[column] = kind(label, width=width, help=tips.get(column))
    return config


def totals(result: queries.Page, counts) -> None:
    st.markdown(f"**共 {result.total_label} 条**")
    if counts is None:  # a search matching more than the cap: neither counted nor all pageable
        st.caption(
            f"匹配超过 {result.total:,} 条：只能翻阅最新的 {result.total:,} 条，也不按申请状态和"
            "询保内容分别计数。输入更多字符或加上筛选条件可缩小范围。"
        )
        return
    st.caption(
        "申请状态："
        + "　".join(f"{STATUS_LABELS[c]} {n:,}" for c, n in counts["status"].items())
        + "　｜　询保内容："
        + "　".join(f"{INTENT_LABELS[c]} {n:,}" for c, n in counts["intent"].items())
    )


def _selected(rows: list[int], row_ids: list[int]) -> bool:
    """Remember the table's selected row positions; a new selection of exactly one row opens it.
    True if that opened an inquiry not open before. ``row_ids``: the ids of the rows as drawn."""
    rows = [i for i in rows if 0 <= i < len(row_ids)]
    page = state()
    if rows == page.last_selection:
        return False
    page.last_selection = rows
    if len(rows) == 1 and page.open_id != row_ids[rows[0]]:
        page.open_id = row_ids[rows[0]]
        return True
    return False


def _table_clicked(table_key: str, row_ids: list[int]) -> None:
    """A click in the table. A header click selects its column (column selection is on so that
    Streamlit does not sort the rows on screen): sort the whole result by it if it is one of
    ``HEADER_SORTS``, else say how to sort, and drop the column selection either way.

    A click that selects exactly one row opens it here, before the run the click starts: that run
    then draws the detail beside the list at once. Opened in the page script instead, it needed a
    second run of the whole page (list, facets, sidebar), doubling the time to the detail."""
    ss = st.session_state
    selection = ss[table_key]["selection"]
    columns = selection.get("columns") or []
    if not columns:
        _selected(list(selection.get("rows") or []), row_ids)
        return
    ways = HEADER_SORTS.get(columns[0])
    if ways:
        ss[K + "sort"] = ways[1] if ss.get(K + "sort") == ways[0] else ways[0]
        to_first_page()  # a new table: the selection belongs to the old order
        return
    ss[table_key] = {
        "selection": {"rows": list(selection.get("rows") or []), "columns": [], "cells": []}
    }
    common.toast("info", "可点击“询保流水号”或“提交日期”列名排序，或使用上方的“排序”")


def table(result: queries.Page, names: dict[int, str]) -> list[Inquiry]:
    """The page's rows, overdue ones tinted; returns the rows the user selected. Selecting one
    row opens it."""
    page = state()
    if not result.rows:
        st.info(EMPTY_TEXT, icon=":material/search_off:")
        return []
    cutoff = clock.overdue_cutoff(utcnow(), get_settings().sla_working_days)
    frame = page_frame(result.rows, names, cutoff)
    styled = frame.style.apply(
        lambda row: ["background-color: #fde2e1" if row["超时"] else "" for _ in row], axis=1
    )
    narrow = page.open_id is not None
    row_ids = tuple(r.id for r in result.rows)
    scroll_up = False
    if page.drawn is not None and page.drawn[0] == table_key() and page.drawn[1] != row_ids:
        # Other rows in the same grid. A filter, the sort and the page clear a selection in their
        # callbacks; this catches the rest (a completion elsewhere, an exact search, a link),
        # whose selected positions would now mean other rows: a new grid, which starts at its top.
        if has_selection():
            page.table_generation += 1
        else:
            scroll_up = True
    key = table_key()
    page.drawn = (key, row_ids)
    event = st.dataframe(
        styled,
        hide_index=True,
        width="stretch",
        height=(min(len(frame), TABLE_ROWS) + 1) * ROW_HEIGHT + 3,
        column_order=NARROW_COLUMNS if narrow else LIST_COLUMNS,
        column_config=column_config(narrow, st.session_state[K + "sort"]),
        # The ids of the rows as drawn: what the user clicked on, whatever the data is by then.
        on_select=lambda ids=list(row_ids): _table_clicked(key, ids),
        selection_mode=("multi-row", "single-column"),
        key=key,
    )
    if scroll_up:
        page.scrolled_up += 1
        # At the end of the sidebar, where the (empty) element moves nothing the user looks at.
        st.sidebar.html(
            SCROLL_TO_TOP.format(count=page.scrolled_up, key=key),
            unsafe_allow_javascript=True,
            width="content",
        )
    selected_rows = [i for i in event.selection.rows if 0 <= i < len(result.rows)]
    # A click was handled by its callback already; this catches a selection that changed without
    # one (the table cleared by a new generation, or the state set directly).
    if _selected(selected_rows, list(row_ids)):
        st.rerun()
    return [result.rows[i] for i in selected_rows]
