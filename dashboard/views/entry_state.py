"""The page state of 投保咨询, in one typed object, and the widget values of its form.

It lives in a module of its own (not in the page script, which Streamlit re-executes on every run)
so that the class is the same object from run to run and ``isinstance`` checks hold.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard import db, faults, sessions
from dashboard.views import common
from models import Inquiry, InquiryForm, Intent, Status, User

#: Session-state key of the one ``EntryState`` object.
STATE_KEY = "entry_state"

#: The form fields, in the form's order (``InquiryForm`` declares them so), and their widget keys.
FIELDS = tuple(InquiryForm.model_fields)
WIDGET_KEYS = {name: f"entry_{name}" for name in FIELDS}
SERIAL_KEY = "entry_serial"


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
    #: The message of a save or submit refused because the inquiry changed elsewhere: shown
    #: under the buttons, with a way to reopen it, until the next action.
    conflict: str | None = None
    #: (kind, message) of the last action: shown once, under the buttons and as a toast.
    notice: tuple[str, str] | None = None
    #: (kind, message) shown once as a toast only (what the page itself already shows).
    toast: tuple[str, str] | None = None
    dialog: str | None = None  # "submit", "discard" or "delete": opened once on the next run
    pending_open: int | None = None  # the row to open once unsaved changes are discarded
    page: int = 1
    list_generation: int = 0  # bumped to reset the list's row selection
    listed_ids: tuple[int, ...] = ()  # inquiry ids of the rows shown, in order
    readonly: bool = False  # the inquiry in the form is no draft (as last read)
    #: The widget values as last drawn: Streamlit forgets a widget's value when a run does not
    #: draw it (the login page after an idle timeout, a run stopped by an outage).
    typed: dict[str, Any] = field(default_factory=dict)
    #: The unsaved form as last kept with the login (``keep_unsaved``), to write only changes.
    kept: str | None = None

    @property
    def list_key(self) -> str:
        return f"entry_list_{self.list_generation}"


def page_state(user: User) -> EntryState:
    """This user's ``EntryState``: a new one, with a blank form (or the unsaved form kept with
    the login), at the first visit, for another user, or after tampering."""
    state = st.session_state.get(STATE_KEY)
    if not isinstance(state, EntryState) or state.user_id != user.id:
        state = EntryState(user_id=user.id)
        st.session_state[STATE_KEY] = state
        load_form(state, blank_form(user), inquiry=None)
        if recover_unsaved(state):  # a reload or a reopened tab
            state.toast = ("info", RECOVERED)
    return state


def blank_form(user: User) -> InquiryForm:
    return InquiryForm(company_name=user.company_name, intent=Intent.insure.value)


def load_form(state: EntryState, form: InquiryForm, *, inquiry: Inquiry | None) -> None:
    """Put ``form`` into the widgets and make it the baseline. Only before widgets are drawn."""
    for name in FIELDS:
        value = getattr(form, name)
        text_field = name not in ("province_code", "city_code", "district_code", "intent")
        st.session_state[WIDGET_KEYS[name]] = (value or "") if text_field else value
    st.session_state[SERIAL_KEY] = inquiry.serial if inquiry else ""
    state.inquiry_id = inquiry.id if inquiry else None
    state.version = inquiry.version if inquiry else None
    state.baseline = form.model_dump()
    state.errors = {}
    state.conflict = None
    state.readonly = inquiry is not None and inquiry.status != Status.draft
    state.list_generation += 1  # the highlighted row no longer matches the form
    keep_typed(state)


# --------------------------------------------------------------------------------------------
# The widget values


def typed() -> InquiryForm:
    """The form as typed (never raises)."""
    return InquiryForm(**{name: st.session_state.get(WIDGET_KEYS[name]) for name in FIELDS})


def restore_typed(state: EntryState) -> None:
    """Put back what was typed, before the widgets are drawn. Streamlit forgets the values of
    widgets that a run did not draw: a visit to the login page (idle timeout), a run stopped by
    a database outage. The state object keeps a copy (``keep_typed``)."""
    for name, value in state.typed.items():
        if WIDGET_KEYS[name] not in st.session_state:
            st.session_state[WIDGET_KEYS[name]] = value


def keep_typed(state: EntryState) -> None:
    state.typed = {
        name: st.session_state[WIDGET_KEYS[name]]
        for name in FIELDS
        if WIDGET_KEYS[name] in st.session_state
    }


def dirty(state: EntryState) -> bool:
    return typed().model_dump() != state.baseline


class Outage(Exception):
    """The database could not be reached; the message is already on the page."""


@contextmanager
def outage_shown():
    """Like ``common.db_errors`` but the page goes on (the form must stay on screen): the outage
    is shown once and ``Outage`` raised for the caller to skip what needed the database."""
    try:
        yield
    except faults.DATABASE_ERRORS as err:
        if not faults.is_outage(err):
            raise
        common.show_outage()
        raise Outage from err


# --------------------------------------------------------------------------------------------
# Unsaved changes outlive the page: kept with the login (``sessions.keep_unsaved``), so that a
# reload, a new tab of a closed one, or another app process finds the form as it was.

RECOVERED = "已恢复您上次未保存的填写内容，请检查后保存或提交。"


def keep_unsaved(state: EntryState) -> None:
    """Keep the form with the login while it differs from what was saved; forget it once saved
    or discarded. Writes only when it changed; a database outage only skips it."""
    session_id = common.current_session_id()
    if session_id is None:
        return
    data = None
    if dirty(state) and not state.readonly:
        data = json.dumps(
            {
                "inquiry_id": state.inquiry_id,
                "version": state.version,
                "serial": st.session_state.get(SERIAL_KEY) or "",
                "baseline": state.baseline,
                "typed": state.typed,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
    if data == state.kept:
        return
    try:
        with db.session_scope() as session:
            sessions.keep_unsaved(session, session_id, data)
    except faults.DATABASE_ERRORS:
        return
    state.kept = data


def recover_unsaved(state: EntryState) -> bool:
    """On a fresh page (before the widgets are drawn): the unsaved form kept with the login, if
    any. True when it was put back."""
    session_id = common.current_session_id()
    if session_id is None:
        return False
    try:
        with db.session_scope(write=False) as session:
            data = sessions.unsaved(session, session_id)
    except faults.DATABASE_ERRORS:
        return False
    try:
        kept = json.loads(data or "null")
        typed_values, baseline = kept["typed"], kept["baseline"]
        inquiry_id, version = kept["inquiry_id"], kept["version"]
    except (ValueError, TypeError, KeyError):
        return False
    if not isinstance(typed_values, dict) or not isinstance(baseline, dict):
        return False
    for name in FIELDS:
        if name in typed_values:
            st.session_state[WIDGET_KEYS[name]] = typed_values[name]
    st.session_state[SERIAL_KEY] = kept.get("serial") or ""
    state.inquiry_id = inquiry_id if isinstance(inquiry_id, int) else None
    state.version = version if isinstance(version, int) else None
    state.baseline = baseline
    state.kept = data
    keep_typed(state)
    return True
