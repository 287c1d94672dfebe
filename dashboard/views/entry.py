"""投保咨询 — the enterprise entry form (询保申请): new / save / submit, and the company's own list.

The page reads like the portal's user guide: the form on top (``entry_form``), the company's
inquiries below (``entry_list``), a static panel on the right (``entry_info``). State: the widget
values (keys ``entry_<field>``) and one ``EntryState`` (``entry_state``). Buttons act in
``on_click`` callbacks (``entry_actions``), which run before the page is drawn.

The inquiry in the form is re-read through ``inquiries.get`` with the current user on every run:
that decides whether it is read-only, and an id this user may not see (a tampered session) only
yields a neutral message and an empty form.
"""

from __future__ import annotations

import streamlit as st

from dashboard.views import common, entry_actions, entry_form, entry_info, entry_list, entry_state
from dashboard.views.entry_state import Outage, keep_typed, outage_shown, restore_typed
from models import Role

user = common.require_role(Role.enterprise.value)
state = entry_state.page_state(user)
restore_typed(state)
try:
    with outage_shown():
        entry_actions.handle_row_click(state, user)
except Outage:
    pass
current = entry_actions.current(state, user)

st.title("询保申请")
st.markdown("请填写以下内容，中国出口信用保险公司将及时与您联系")
main, side = st.columns([3, 1], gap="large")
with main:
    entry_form.form(state, user, current)
keep_typed(state)
entry_state.keep_unsaved(state)
with side, st.container(border=True):
    st.markdown(entry_info.markdown())
entry_list.show(state, user, on_turn=entry_actions.turn_page)
entry_actions.open_dialog(state)
