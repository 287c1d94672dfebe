"""The page state of 咨询处理 that must outlive a visit to another page.

It lives in a module of its own (not in the page script, which Streamlit re-executes on every run)
so that the class is the same object from run to run and ``isinstance`` checks hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ViewMemory:
    """The last values of the view's widgets (filters, sort, paging), by widget name.

    Streamlit drops a widget's value from ``st.session_state`` when a run draws a page without
    that widget, so going to 统计报表 and back would find the filters gone; the page puts these
    back before drawing its widgets.
    """

    values: dict[str, Any] = field(default_factory=dict)
