"""The page state of 投保咨询, in one typed object.

It lives in a module of its own (not in the page script, which Streamlit re-executes on every run)
so that the class is the same object from run to run and ``isinstance`` checks hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import InquiryForm

#: Session-state key of the one ``EntryState`` object.
STATE_KEY = "entry_state"

#: The form fields, in the form's order (``InquiryForm`` declares them so), and their widget keys.
FIELDS = tuple(InquiryForm.model_fields)
WIDGET_KEYS = {name: f"entry_{name}" for name in FIELDS}


@dataclass
class EntryState:
    """What the page remembers between runs, besides the widget values themselves.

    ``inquiry_id``/``version`` identify the inquiry in the form (None for a new one); whether it
    is read-only is not stored but read from the database on every run, so it cannot go stale or
    be forged. ``baseline`` is the form as last loaded or saved, to tell unsaved changes.
    """

    user_id: int
    inquiry_id: int | None = None
    version: int | None = None
    baseline: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    notice: tuple[str, str] | None = None  # (kind, message): shown once
    dialog: str | None = None  # "submit" or "discard": opened once on the next run
    pending_open: int | None = None  # the row to open once unsaved changes are discarded
    page: int = 1
    list_generation: int = 0  # bumped to reset the list's row selection
    listed_ids: tuple[int, ...] = ()  # inquiry ids of the rows shown, in order
    readonly: bool = False  # the inquiry in the form is no draft (as last read)
    #: The widget values as last drawn: Streamlit forgets a widget's value when a run does not
    #: draw it (the login page after an idle timeout, a run stopped by an outage).
    typed: dict[str, Any] = field(default_factory=dict)

    @property
    def list_key(self) -> str:
        return f"entry_list_{self.list_generation}"
