"""The page state of 咨询处理, in one typed object, and the widget keys of the page.

It lives in a module of its own (not in the page script, which Streamlit re-executes on every run)
so that the class is the same object from run to run and ``isinstance`` checks hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st

from dashboard import queries
from dashboard.views import common
from dashboard.views.outcome import ActionResult

#: Prefix of the page's widget keys (a widget's value lives under its key in the session).
K = "triage_"
STATE_KEY = "triage_state"
#: The preset 我的待办: what is mine (assigned to me, by a routing rule or a colleague) and still
#: open. Its count stands on the sidebar button that shows it.
MY_QUEUE = queries.InquiryFilter(statuses=("submitted",), assignee="me")


#: Where an action's result is shown (``ActionResult.place``): beside the button that was pressed
#: (分配 and 认领, 标记为已完成, 添加备注 in the detail panel; 确认完成 in the bulk panel under the list).
Place = Literal["assign", "complete", "note", "bulk"]


@dataclass
class TriageState:
    """What the page remembers between runs besides the widget values themselves."""

    #: The inquiry open in the detail panel.
    open_id: int | None = None
    #: The outcome of the last action, shown once beside the button that was pressed.
    result: ActionResult | None = None
    #: A finished export: (filter, sort, kind, rows, stamp, bytes, with contacts), offered while
    #: they match.
    export: tuple | None = None
    #: 批量标记为已完成 was pressed; the next run asks for confirmation.
    confirm_bulk: bool = False
    #: Bumped to clear the table's row selection, which holds row positions, when other rows come
    #: under it (``clear_selection``): the table under a new key is a new, empty grid.
    table_generation: int = 0
    #: The table's key and row ids at its last drawing: other rows under the same key are drawn
    #: in place and the grid is scrolled back to its top.
    drawn: tuple[str, tuple[int, ...]] | None = None
    #: How many times the grid was scrolled to its top (each script must differ from the last to
    #: run again).
    scrolled_up: int = 0
    #: The rows selected in the table at the last run (to notice a new selection).
    last_selection: list[int] = field(default_factory=list)
    #: The exact search that last opened its one match (so it does not open it again).
    jumped: str | None = None
    #: The last values of the view's widgets (filters, sort, paging), by widget name. Streamlit
    #: drops a widget's value when a run draws a page without that widget, so going to 统计报表
    #: and back would find the filters gone; the page puts these back before drawing.
    view: dict[str, Any] | None = None
    #: The open inquiry as ``inquiries.detail`` last gave it (``privacy.Detail``). Every click
    #: draws the page again; redrawing what is already on screen is no new view of its contact
    #: data, so the detail is read (and a full view logged) again only when the panel is opened
    #: anew or the inquiry changed (its version).
    shown: Any = None


def table_key() -> str:
    return K + f"table_{state().table_generation}"


def has_selection() -> bool:
    """Rows or a column are selected in the list's table (as the browser last said)."""
    value = st.session_state.get(table_key()) or {}
    selection = value.get("selection") or {}
    return bool(state().last_selection or selection.get("rows") or selection.get("columns"))


def clear_selection() -> None:
    """Other rows come under the table (a filter, the sort, the page, 标记为已完成), and a
    selection holds row positions: give the table a new key, i.e. a new grid with nothing selected.

    Only when something is selected. A new key is a new element that the browser builds from
    scratch, ~350 ms of a filter change at 1M rows (BENCHMARKS.md, fifth session); most changes
    have no selection, and the same grid takes the new rows in place. Streamlit's programmatic
    selection state would keep the key, but a row click crossing it once showed the row selected
    without opening it (fifth session), so a selection is cleared only by a new grid."""
    if has_selection():
        state().table_generation += 1


def forget() -> None:
    """Forget what 咨询处理 remembers (its filters, sort, page, open inquiry), before sending the
    user there with a URL of its own (a drill from 统计报表): the page takes its filters from the
    URL only on its first visit of a browser session, afterwards from what it remembers."""
    for key in [k for k in st.session_state if str(k).startswith(K)]:
        del st.session_state[key]


def state() -> TriageState:
    """This session's ``TriageState`` (a new one at the first visit, or after tampering)."""
    return common.session_object(STATE_KEY, TriageState)
