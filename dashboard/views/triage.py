"""咨询处理 — the staff triage page: filter, search, list, open, export.

The page script only puts the parts together: the view's widgets and their URL
(``triage_filters``), the list (``triage_table``), the detail panel and the bulk completion
(``triage_detail``), the export (``triage_export``). The page state besides the widget values is
one ``TriageState`` (``triage_state``).
"""

from __future__ import annotations

import streamlit as st

from dashboard import accounts, db, queries
from dashboard.views import common
from dashboard.views.triage_detail import (
    STAFF_ROLES,
    bulk_panel,
    detail,
    show_result,
    toast_result,
)
from dashboard.views.triage_export import export_panel
from dashboard.views.triage_filters import (
    paging,
    remember_view,
    restore_view,
    sidebar,
    sync_url,
)
from dashboard.views.triage_state import MY_QUEUE, K, state
from dashboard.views.triage_table import HIDE_MENU_SORT, table, totals
from models import User

user = common.require_role(*STAFF_ROLES)


def _my_open_count() -> int:
    return common.read(queries.count, MY_QUEUE, actor=user)


def _colleagues() -> tuple[list[User], dict[str, str]]:
    """The people inquiries can be assigned to, and the 负责人 filter's choices."""
    staff = common.read(accounts.staff_members)
    labels = {"me": "我", "none": "未分配"} | {str(u.id): u.label for u in staff if u.id != user.id}
    if st.session_state[K + "assignee"] not in labels:
        st.session_state[K + "assignee"] = ""
    return staff, labels


def _results(flt: queries.InquiryFilter):
    """The page of matches, their facet counts and their assignees' names."""
    ss = st.session_state
    with common.db_errors(), db.session_scope(write=False) as session:
        result = queries.list_page(
            session,
            flt,
            actor=user,
            page=ss[K + "page"],
            page_size=ss[K + "size"],
            sort=ss[K + "sort"],
        )
        counts = queries.facets(
            session, flt, actor=user, capped=result.capped, matched=result.matched
        )
        names = queries.user_labels(session, [r.assignee_id for r in result.rows])
    ss[K + "page"] = result.page
    # A complete serial or phone number that finds exactly one inquiry opens it at once.
    page = state()
    exact = queries.exact_search(flt.search) if flt.search else None
    if exact and result.total == 1 and page.jumped != flt.search:
        page.jumped = flt.search
        page.open_id = result.rows[0].id
    return result, counts, names


st.title("咨询处理")
st.html(HIDE_MENU_SORT)
for notice in restore_view():
    st.warning(notice)
pending = state().result
if pending is not None and pending.text == common.DB_UNAVAILABLE:
    show_result(pending.place)  # said once, at the top, like the outage message of every page
colleagues, colleague_labels = _colleagues()
flt = sidebar(colleague_labels, _my_open_count())
result, counts, assignee_names = _results(flt)
totals(result, counts)
sync_url(flt, result)
open_id = state().open_id
list_col, detail_col = st.columns([3, 2]) if open_id else (st.container(), None)
with list_col:
    paging(result)
    remember_view()
    selected = table(result, assignee_names)
    submitted = {r.id: r.version for r in selected if r.status == "submitted"}
    if len(selected) > 1:
        if submitted:
            bulk_panel(submitted)
        else:
            st.info("所选的询保申请都已完成")
    show_result("bulk")  # after a bulk completion the panel is gone: its result takes its place
    export_panel(user, flt, st.session_state[K + "sort"], result)
if detail_col is not None:
    with detail_col:
        detail(user, open_id, colleagues)
toast_result()
