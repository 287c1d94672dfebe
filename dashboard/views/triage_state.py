"""The page state of 咨询处理, in one typed object, and the widget keys of the page.

It lives in a module of its own (not in the page script, which Streamlit re-executes on every run)
so that the class is the same object from run to run and ``isinstance`` checks hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
    #: Bumped to clear the table's row selection, which holds row positions: whenever the rows
    #: change under it (标记为已完成, a filter, the sort, the page size).
    table_generation: int = 0
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


def state() -> TriageState:
    """This session's ``TriageState`` (a new one at the first visit, or after tampering)."""
    return common.session_object(STATE_KEY, TriageState)
