"""咨询处理 — the staff triage page: filter, search, list, open, export (the detail panel and its
actions are in ``triage_detail``).

The filter state lives in the URL (``st.query_params``): on the first run of a browser session the
sidebar widgets start from the URL, afterwards the widgets are the truth and the URL is rewritten
from them on every run, so a copied link opens the same view. The rest of the page state is one
``TriageState``.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import streamlit as st

from dashboard import accounts, clock, db, export, queries, regions
from dashboard.settings import get_settings
from dashboard.views import common
from dashboard.views.triage_detail import STAFF_ROLES, bulk_panel, detail
from dashboard.views.triage_state import K, state
from models import INTENT_LABELS, STATUS_LABELS, Inquiry, User, utcnow

user = common.require_role(*STAFF_ROLES)

STATUS_CHOICES = ("submitted", "completed")
QUICK_DATES = ("不限", "今天", "本周", "本月", "近30天", "自定义")
SORT_LABELS = {
    "-submitted_at": "提交日期（新→旧）",
    "submitted_at": "提交日期（旧→新）",
    "-serial": "询保流水号（大→小）",
    "serial": "询保流水号（小→大）",
}


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
    ss[K + "range"] = tuple(d for d in (flt.submitted_from, flt.submitted_to) if d) or ()
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
    st.query_params.clear()
    for key in [k for k in st.session_state if str(k).startswith(K)]:
        del st.session_state[key]
    page = state()
    page.view = page.export = None


def filter_from_widgets() -> queries.InquiryFilter:
    ss = st.session_state
    pick = ss[K + "dates"]
    if pick == "自定义":
        chosen = tuple(ss.get(K + "range") or ())
        start = chosen[0] if chosen else None
        end = chosen[1] if len(chosen) > 1 else start
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


def _to_first_page() -> None:
    st.session_state[K + "page"] = 1
    state().export = None


def _province_changed() -> None:
    st.session_state[K + "city"] = ""
    _to_first_page()


def sidebar(colleagues: dict[str, str]) -> queries.InquiryFilter:
    with st.sidebar:
        st.header("筛选")
        st.text_input(
            "搜索",
            key=K + "search",
            placeholder="流水号、公司、联系人、手机、固话、邮箱",
            on_change=_to_first_page,
        )
        for notice in queries.clean_search(st.session_state[K + "search"])[1]:
            st.warning(notice)
        st.multiselect(
            "申请状态",
            STATUS_CHOICES,
            format_func=STATUS_LABELS.get,
            key=K + "status",
            on_change=_to_first_page,
            placeholder="全部",
        )
        st.multiselect(
            "询保内容",
            tuple(INTENT_LABELS),
            format_func=INTENT_LABELS.get,
            key=K + "intent",
            on_change=_to_first_page,
            placeholder="全部",
        )
        provinces = {r.code: r.name for r in regions.provinces()}
        st.selectbox(
            "省/市",
            ["", *provinces],
            format_func=lambda c: provinces.get(c, "全部"),
            key=K + "province",
            on_change=_province_changed,
        )
        cities = {r.code: r.name for r in regions.cities(st.session_state[K + "province"])}
        if st.session_state[K + "city"] not in cities:
            st.session_state[K + "city"] = ""
        st.selectbox(
            "市",
            ["", *cities],
            format_func=lambda c: cities.get(c, "全部"),
            key=K + "city",
            disabled=not cities,
            on_change=_to_first_page,
        )
        st.radio(
            "提交日期", QUICK_DATES, key=K + "dates", horizontal=True, on_change=_to_first_page
        )
        if st.session_state[K + "dates"] == "自定义":
            st.date_input("日期范围", key=K + "range", on_change=_to_first_page)
        st.selectbox(
            "负责人",
            ["", *colleagues],
            format_func=lambda c: colleagues.get(c, "全部"),
            key=K + "assignee",
            on_change=_to_first_page,
        )
        st.toggle(
            f"超时（等待超过 {get_settings().sla_working_days} 个工作日）",
            key=K + "overdue",
            on_change=_to_first_page,
        )
        st.button("重置筛选", on_click=reset_filters, icon=":material/restart_alt:")
    return filter_from_widgets()


# --------------------------------------------------------------------------------------------
# Rendering


def page_frame(rows: list[Inquiry], names: dict[int, str], cutoff: datetime) -> pd.DataFrame:
    now = utcnow()
    return pd.DataFrame(
        {
            "询保流水号": [r.serial for r in rows],
            "公司名称": [r.company_name for r in rows],
            "地区": [regions.full_name(r.province_code, r.city_code) for r in rows],
            "联系人": [r.contact_name for r in rows],
            "联系电话": [f"{r.mobile} / {r.landline}" for r in rows],
            "联系邮箱": [r.email for r in rows],
            "询保内容": [INTENT_LABELS.get(r.intent, r.intent) for r in rows],
            "提交日期": [clock.show(r.submitted_at) for r in rows],
            "申请状态": [STATUS_LABELS.get(r.status, r.status) for r in rows],
            "负责人": [names.get(r.assignee_id, "未分配") for r in rows],
            "等待时长": [clock.waited(r.submitted_at, r.completed_at, now) for r in rows],
            "超时": [clock.is_overdue(r.status, r.submitted_at, cutoff) for r in rows],
        }
    )


def export_panel(flt: queries.InquiryFilter, sort: str, result: queries.Page) -> None:
    """Export every match (also past the cap of a broad search's count and pages)."""
    st.markdown("**导出**")
    c1, c2 = st.columns(2)
    kind = None
    if c1.button("导出 CSV", key=K + "export_csv", disabled=result.total == 0):
        kind = "csv"
    if c2.button("导出 Excel", key=K + "export_xlsx", disabled=result.total == 0):
        kind = "xlsx"
    if kind:
        out = io.BytesIO()
        writer = export.write_csv if kind == "csv" else export.write_xlsx
        with (
            st.spinner(f"正在导出 {result.total_label} 条…"),
            common.db_errors(),
            db.session_scope(write=False) as session,
        ):
            n = writer(session, flt, actor=user, out=out, sort=sort)
        stamp = clock.local_time(utcnow()).strftime("%Y%m%d_%H%M")
        state().export = (flt, sort, kind, n, stamp, out.getvalue())
    ready = state().export
    if ready and ready[:2] == (flt, sort):
        _, _, kind, n, stamp, data = ready
        mime = (
            "text/csv"
            if kind == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        st.download_button(
            f"下载 {kind.upper()}（{n:,} 条）",
            data=data,
            file_name=export.safe_filename(f"询保申请_{stamp}", kind),
            mime=mime,
            on_click="ignore",  # downloading does not rerun, so the page stays as it is
            key=K + "download",
            icon=":material/download:",
        )


# --------------------------------------------------------------------------------------------
# The page


def _colleagues() -> tuple[list[User], dict[str, str]]:
    """The people inquiries can be assigned to, and the 负责人 filter's choices."""
    with common.db_errors(), db.session_scope(write=False) as session:
        staff = accounts.staff_members(session)
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


def _sync_url(flt: queries.InquiryFilter, result: queries.Page) -> None:
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


def _totals(result: queries.Page, counts) -> None:
    st.markdown(f"**共 {result.total_label} 条**")
    if counts is None:  # a search matching more than the cap: neither counted nor all pageable
        st.caption(
            f"匹配超过 {result.total:,} 条：只能翻阅最新的 {result.total:,} 条，也不按申请状态和"
            "询保内容分别计数。输入更多字符或加上筛选条件可缩小范围。"
        )
        return
    st.caption(
        "申请状态："
        + "　".join(f"{STATUS_LABELS[c]} {n:,}" for c, n in counts["status"].items())
        + "　｜　询保内容："
        + "　".join(f"{INTENT_LABELS[c]} {n:,}" for c, n in counts["intent"].items())
    )


def _paging(result: queries.Page) -> None:
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.selectbox(
        "排序",
        list(SORT_LABELS),
        format_func=SORT_LABELS.get,
        key=K + "sort",
        on_change=_to_first_page,
    )
    c2.selectbox("每页条数", queries.PAGE_SIZES, key=K + "size", on_change=_to_first_page)
    c3.number_input("页码", min_value=1, max_value=result.pages, step=1, key=K + "page")
    st.caption(f"第 {result.page} / {result.pages} 页")


def _table(result: queries.Page, names: dict[int, str]) -> list[Inquiry]:
    """The page's rows, overdue ones tinted; returns the rows the user selected. Selecting one
    row opens it."""
    page = state()
    cutoff = clock.overdue_cutoff(utcnow(), get_settings().sla_working_days)
    frame = page_frame(result.rows, names, cutoff)
    styled = frame.style.apply(
        lambda row: ["background-color: #fde2e1" if row["超时"] else "" for _ in row], axis=1
    )
    event = st.dataframe(
        styled,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key=K + f"table_{page.table_generation}_{result.page}",
        column_config={"超时": st.column_config.CheckboxColumn("超时")},
    )
    selected_rows = [i for i in event.selection.rows if 0 <= i < len(result.rows)]
    selected = [result.rows[i] for i in selected_rows]
    if selected_rows != page.last_selection:
        page.last_selection = selected_rows
        if len(selected) == 1 and page.open_id != selected[0].id:
            page.open_id = selected[0].id
            st.rerun()
    return selected


st.title("咨询处理")
for notice in restore_view():
    st.warning(notice)
if state().flash:
    common.show_message(*state().flash)
    state().flash = None
colleagues, colleague_labels = _colleagues()
flt = sidebar(colleague_labels)
result, counts, assignee_names = _results(flt)
_totals(result, counts)
_sync_url(flt, result)
open_id = state().open_id
list_col, detail_col = st.columns([3, 2]) if open_id else (st.container(), None)
with list_col:
    _paging(result)
    remember_view()
    selected = _table(result, assignee_names)
    submitted = {r.id: r.version for r in selected if r.status == "submitted"}
    if len(selected) > 1:
        if submitted:
            bulk_panel(submitted)
        else:
            st.info("所选的询保申请都已完成")
    export_panel(flt, st.session_state[K + "sort"], result)
if detail_col is not None:
    with detail_col:
        detail(user, open_id, colleagues)
