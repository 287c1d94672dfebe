"""The page state of 咨询处理, in one typed object, and the widget keys of the page.

It lives in a module of its own (not in the page script, which Streamlit re-executes on every run)
so that the class is the same object from run to run and ``isinstance`` checks hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

#: Prefix of the page's widget keys (a widget's value lives under its key in the session).
K = "triage_"
STATE_KEY = "triage_state"


@dataclass
class TriageState:
    """What the page remembers between runs besides the widget values themselves."""

    #: The inquiry open in the detail panel.
    open_id: int | None = None
    #: The outcome of the last action, shown once: ("success" | "error", message).
    flash: tuple[str, str] | None = None
    #: A finished export: (filter, sort, kind, rows, stamp, bytes), offered while they match.
    export: tuple | None = None
    #: 批量标记为已完成 was pressed; the next run asks for confirmation.
    confirm_bulk: bool = False
    #: Bumped to clear the table's row selection after a completion.
    table_generation: int = 0
    #: The rows selected in the table at the last run (to notice a new selection).
    last_selection: list[int] = field(default_factory=list)
    #: The exact search that last opened its one match (so it does not open it again).
    jumped: str | None = None
    #: The last values of the view's widgets (filters, sort, paging), by widget name. Streamlit
    #: drops a widget's value when a run draws a page without that widget, so going to 统计报表
    #: and back would find the filters gone; the page puts these back before drawing.
    view: dict[str, Any] | None = None


def state() -> TriageState:
    """This session's ``TriageState`` (a new one at the first visit, or after tampering)."""
    current = st.session_state.get(STATE_KEY)
    if not isinstance(current, TriageState):
        current = st.session_state[STATE_KEY] = TriageState()
    return current
