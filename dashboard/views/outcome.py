"""The outcome of a button's action on pages whose buttons write (咨询处理, 分配规则): run in the
button's callback, kept in the page state, and shown once on the next run right beside the button
that was pressed, where the user is looking.

A page's state object (``TriageState``, ``RoutingState``) holds the one pending outcome in its
``result`` attribute; the functions here take that object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

from dashboard import db
from dashboard.views import common


@dataclass(frozen=True)
class ActionResult:
    """The outcome of a button's action, shown once on the run that follows it."""

    #: Where it is shown: the page's name for the place of the button that was pressed.
    place: str
    kind: Literal["success", "error"]
    #: Markdown; user text in it is escaped.
    text: str


def act(page, place: str, action, success: str, *, roles: tuple[str, ...], reloaded=()) -> bool:
    """Run ``action(session, actor)`` for the user as the database holds them now: the user of
    the run that drew the button may have been deactivated, demoted or timed out since (then
    nothing is done and the rerun shows the login page). The outcome is kept in ``page.result``
    for ``show`` at ``place``; ``success`` is markdown: user text in it must be escaped. An
    error of the ``reloaded`` types says that the page shows the data anew. True on success."""
    actor = common.acting_user(*roles)
    if actor is None:
        return False
    try:
        with db.session_scope() as session:
            action(session, actor)
    except reloaded as err:  # a conflict, or gone: the rerun reads the inquiry again
        text = f"{common.md_escape(str(err))}（已重新加载最新数据）"
        page.result = ActionResult(place, "error", text)
    except Exception as err:  # FormInvalid, an outage, anything else: a message, never a trace
        text = common.failure_message(err)
        if text != common.DB_UNAVAILABLE:
            text = common.md_escape(text)
        page.result = ActionResult(place, "error", text)
    else:
        page.result = ActionResult(place, "success", success)
    common.clear_caches()
    return page.result.kind == "success"


def show(page, *places: str, toast_success: bool = False) -> None:
    """The last action's result, here if it belongs to one of ``places``: right beside the
    button that was pressed (a success also as a toast when ``toast_success``). Shown once. The
    outage message goes through ``common.show_outage``, so it is never said twice."""
    result = page.result
    if result is None or result.place not in places:
        return
    page.result = None
    if result.text == common.DB_UNAVAILABLE:
        common.show_outage()
    elif result.kind == "success":
        st.success(result.text, icon=":material/check_circle:")
        if toast_success:
            common.toast("success", result.text)
    else:
        st.error(result.text, icon=":material/error:")


def toast_unshown(page) -> None:
    """A result that no place showed (its place was not drawn on this run): as a toast, which
    is on screen whatever the scroll position."""
    if page.result is not None:
        common.toast(page.result.kind, page.result.text)
        page.result = None
