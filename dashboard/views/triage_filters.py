"""咨询处理's view: the sidebar's filters (with 我的待办 and 重置筛选), the sort and the paging, and
their place in the URL.

The filter state lives in the URL (``st.query_params``): on the first run of a browser session the
sidebar widgets start from the URL, afterwards the widgets are the truth and the URL is rewritten
from them on every run (``sync_url``), so a copied link opens the same view.

**Adding a filter field** needs its widget in ``sidebar`` here; the rest follows from its row in
``dashboard/queries/conditions.py``.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import clock, queries, regions
from dashboard.settings import get_settings
from dashboard.views import widgets
from dashboard.views.triage_state import MY_QUEUE, K, clear_selection, forget, state
from models import COMPLETION_BUCKETS, INTENT_LABELS, STATUS_LABELS

STATUS_CHOICES = ("submitted", "completed")
QUICK_DATES = ("不限", "今天", "本周", "本月", "近30天", "自定义")
SORT_LABELS = {
    "-submitted_at": "提交日期（新→旧）",
    "submitted_at": "提交日期（旧→新）",
    "-serial": "询保流水号（大→小）",
    "serial": "询保流水号（小→大）",
}

#: 处理用时: the URL value of each bucket of the report's 处理用时分布 → its label.
COMPLETION_CHOICES = dict(
    zip(queries.COMPLETION_KEYS, (label for label, _, _ in COMPLETION_BUCKETS), strict=True)
)


#: The days a link's date may be (``conditions._day``); as the range's ends they mean "open".
FIRST_DAY, LAST_DAY = clock.EARLIEST, date(2100, 12, 31)


#: The dates are drawn as a quick pick and a range (widgets ``dates`` and ``range``).
DATE_FIELDS = ("submitted_from", "submitted_to")
#: The widget of every other filter field (``queries.FIELDS``): keyed by its URL parameter, but
#: the search box's key is its own; it holds the field's value, a list for a tuple, "" for None.
FIELD_WIDGETS = {
    f.name: "search" if f.name == "search" else f.url_key
    for f in queries.FIELDS
    if f.name not in DATE_FIELDS
}


def _widget_value(value):
    """A filter field's value as its widget holds it."""
    if isinstance(value, tuple):
        return list(value)
    return "" if value is None else value


def _field_value(default, value):
    """A widget's value as the filter field with that ``default`` holds it."""
    if isinstance(default, tuple):
        return tuple(value)
    if default is None:
        return value or None
    return value


def quick_range(pick: str) -> tuple[date | None, date | None]:
    return clock.period(pick, clock.today()) if pick in clock.PERIODS else (None, None)


def _init_from_url() -> list[str]:
    """Seed the widgets from the URL once per browser session (or after 重置筛选)."""
    params = st.query_params.to_dict()
    flt, notices = queries.InquiryFilter.from_params(params, statuses=STATUS_CHOICES)
    page, size, sort, more = queries.view_params_from(params)
    ss = st.session_state
    for name, widget in FIELD_WIDGETS.items():
        ss[K + widget] = _widget_value(getattr(flt, name))
    pick = "不限"
    if flt.submitted_from or flt.submitted_to:
        pick = next(
            (
                p
                for p in QUICK_DATES[1:5]
                if quick_range(p) == (flt.submitted_from, flt.submitted_to)
            ),
            "自定义",
        )
    ss[K + "dates"] = pick
    # A range widget holds two days or none: an open end of a link (``?to=`` alone, as 统计报表's
    # 全部 sends) is its first or last day, which filter_from_widgets reads back as open.
    if flt.submitted_from or flt.submitted_to:
        ss[K + "range"] = (flt.submitted_from or FIRST_DAY, flt.submitted_to or LAST_DAY)
    else:
        ss[K + "range"] = ()
    ss[K + "page"] = page
    ss[K + "size"] = size
    ss[K + "sort"] = sort
    open_id = str(params.get("open", ""))
    state().open_id = int(open_id) if open_id.isdigit() and len(open_id) < 12 else None
    if open_id and state().open_id is None:
        notices.append("链接中的询保申请参数无效，已忽略")
    remember_view()
    return notices + more


#: The widgets whose values make the view (filters, sort, paging). Streamlit forgets a widget's
#: value once a run draws another page, so the values are also kept in ``TriageState.view`` and
#: put back before the widgets are drawn again.
VIEW_WIDGETS = (*FIELD_WIDGETS.values(), "dates", "range", "page", "size", "sort")


def restore_view() -> list[str]:
    """Put the view's widget values in place before anything is drawn: from the URL on the
    first visit of a browser session (or after 重置筛选), else from the kept copy. Returns the
    URL's notices."""
    memory = state().view
    if memory is None:
        return _init_from_url()
    for name, value in memory.items():
        if K + name not in st.session_state:
            st.session_state[K + name] = value
    return []


def remember_view() -> None:
    values = {
        name: st.session_state[K + name] for name in VIEW_WIDGETS if K + name in st.session_state
    }
    state().view = values


def reset_filters() -> None:
    clear_selection()  # first: it reads the table's state, deleted below
    table = state()
    st.query_params.clear()
    forget()  # the page state too (K + "state")
    page = state()
    # The grid in the browser outlives the page state: keep what says which one it is.
    page.table_generation, page.drawn = table.table_generation, table.drawn
    page.scrolled_up = table.scrolled_up


def filter_from_widgets() -> queries.InquiryFilter:
    ss = st.session_state
    pick = ss[K + "dates"]
    if pick == "自定义":
        chosen = tuple(ss.get(K + "range") or ())
        start = chosen[0] if chosen else None
        end = chosen[1] if len(chosen) > 1 else start
        start = None if start == FIRST_DAY else start
        end = None if end == LAST_DAY else end
    else:
        start, end = quick_range(pick)
    values = {
        f.name: _field_value(f.default, ss[K + FIELD_WIDGETS[f.name]])
        for f in queries.FIELDS
        if f.name in FIELD_WIDGETS
    }
    if not values["province_code"]:  # a city only within its province
        values["city_code"] = None
    return queries.InquiryFilter(**values, submitted_from=start, submitted_to=end)


def to_first_page() -> None:
    """The view changed (filter, sort, page size): back to page 1, and the table's selection is
    cleared, since it holds row positions of the old rows."""
    st.session_state[K + "page"] = 1
    state().export = None
    clear_selection()


def _province_changed() -> None:
    st.session_state[K + "city"] = ""
    to_first_page()


def _show_my_queue() -> None:
    """我的待办: the preset's filters replace whatever was chosen (the sort stays)."""
    ss = st.session_state
    for name, widget in FIELD_WIDGETS.items():
        ss[K + widget] = _widget_value(getattr(MY_QUEUE, name))
    ss[K + "dates"] = "不限"
    ss[K + "range"] = ()
    to_first_page()


def sidebar(colleagues: dict[str, str], my_open: int) -> queries.InquiryFilter:
    """The sidebar's filters; returns the filter they make."""
    with st.sidebar:
        st.button(
            f"我的待办（{my_open:,}）",
            key=K + "my_queue",
            on_click=_show_my_queue,
            # Highlighted while the list is exactly the preset.
            type="primary" if filter_from_widgets() == MY_QUEUE else "secondary",
            icon=":material/assignment_ind:",
            help="分配给我、尚未完成的询保申请",
            width="stretch",
        )
        st.header("筛选")
        st.text_input(
            "搜索",
            key=K + "search",
            placeholder="流水号、公司、联系人、手机、固话、邮箱",
            on_change=to_first_page,
        )
        for notice in queries.clean_search(st.session_state[K + "search"])[1]:
            st.warning(notice)
        widgets.code_multiselect(
            st,
            "申请状态",
            STATUS_LABELS,
            options=STATUS_CHOICES,
            key=K + "status",
            on_change=to_first_page,
        )
        widgets.code_multiselect(
            st, "询保内容", INTENT_LABELS, key=K + "intent", on_change=to_first_page
        )
        _region_filters()
        _date_filters()
        widgets.choice_select(st, "负责人", colleagues, key=K + "assignee", on_change=to_first_page)
        st.toggle(
            f"超时（等待超过 {get_settings().sla_working_days} 个工作日）",
            key=K + "overdue",
            on_change=to_first_page,
        )
        widgets.choice_select(
            st,
            "处理用时",
            COMPLETION_CHOICES,
            key=K + "hours",
            all_label="不限",
            help="从提交到完成的用时（仅已完成的咨询）",
            on_change=to_first_page,
        )
        st.button("重置筛选", on_click=reset_filters, icon=":material/restart_alt:")
    return filter_from_widgets()


def _region_filters() -> None:
    """省/市, then 市 of that province (disabled until a province is chosen)."""
    provinces = {r.code: r.name for r in regions.provinces()}
    widgets.choice_select(st, "省/市", provinces, key=K + "province", on_change=_province_changed)
    cities = {r.code: r.name for r in regions.cities(st.session_state[K + "province"])}
    if st.session_state[K + "city"] not in cities:
        st.session_state[K + "city"] = ""
    widgets.choice_select(
        st, "市", cities, key=K + "city", disabled=not cities, on_change=to_first_page
    )


def _date_filters() -> None:
    """提交日期: a quick pick, or 自定义 with a range."""
    st.radio("提交日期", QUICK_DATES, key=K + "dates", horizontal=True, on_change=to_first_page)
    if st.session_state[K + "dates"] == "自定义":
        st.date_input(
            "日期范围",
            key=K + "range",
            min_value=FIRST_DAY,
            max_value=LAST_DAY,
            on_change=to_first_page,
        )


def sync_url(flt: queries.InquiryFilter, result: queries.Page) -> None:
    """Rewrite the URL from the view (only what differs from the defaults), so that a copied
    link opens the same view."""
    ss = st.session_state
    params = flt.to_params()
    if result.page != 1:
        params["page"] = str(result.page)
    if ss[K + "size"] != 50:
        params["size"] = str(ss[K + "size"])
    if ss[K + "sort"] != "-submitted_at":
        params["sort"] = ss[K + "sort"]
    if state().open_id:
        params["open"] = str(state().open_id)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def paging(result: queries.Page) -> None:
    """排序, 每页条数 and 页码 above the list."""
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.selectbox(
        "排序",
        list(SORT_LABELS),
        format_func=SORT_LABELS.get,
        key=K + "sort",
        on_change=to_first_page,
    )
    c2.selectbox("每页条数", queries.PAGE_SIZES, key=K + "size", on_change=to_first_page)
    c3.number_input(
        "页码",
        min_value=1,
        max_value=result.pages,
        step=1,
        key=K + "page",
        on_change=clear_selection,  # another page: other rows under the selected positions
    )
    # Also keeps the table's toolbar, which floats above its top right corner, off the inputs.
    st.caption(f"第 {result.page} / {result.pages} 页")
