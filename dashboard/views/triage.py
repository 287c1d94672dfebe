"""咨询处理 — the staff triage page: filter, search, list, open, assign, note, complete, export.

The filter state lives in the URL (``st.query_params``): on the first run of a browser session the
sidebar widgets start from the URL, afterwards the widgets are the truth and the URL is rewritten
from them on every run, so a copied link opens the same view. Writes run in button callbacks, whose
arguments were bound when the button was drawn: the version the user saw is what ``complete``
compares, so a concurrent change becomes a Conflict message instead of an overwrite.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import streamlit as st

from dashboard import accounts, clock, db, export, inquiries, queries, regions
from dashboard.errors import Conflict, NotAllowed, NotFound
from dashboard.settings import get_settings
from dashboard.views import common
from dashboard.views.triage_state import ViewMemory
from models import ACTION_LABELS, INTENT_LABELS, STATUS_LABELS, Inquiry, utcnow

STAFF_ROLES = ("staff", "manager")
user = common.require_role(*STAFF_ROLES)

STATUS_CHOICES = ("submitted", "completed")
QUICK_DATES = ("不限", "今天", "本周", "本月", "近30天", "自定义")
SORT_LABELS = {
    "-submitted_at": "提交日期（新→旧）",
    "submitted_at": "提交日期（旧→新）",
    "-serial": "询保流水号（大→小）",
    "serial": "询保流水号（小→大）",
}
K = "triage_"  # prefix of this page's widget keys
MEMORY_KEY = "triage_view"
# No max_chars on text areas: the browser would silently drop a longer paste and keep the old
# text; the domain refuses it instead, naming the field and the limit.
NOTE_HINT = f"不超过{inquiries.MAX_NOTE_LENGTH}个字符"


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
    ss[K + "open"] = int(open_id) if open_id.isdigit() and len(open_id) < 12 else None
    if open_id and ss[K + "open"] is None:
        notices.append("链接中的询保申请参数无效，已忽略")
    remember_view()
    return notices + more


#: The widgets whose values make the view (filters, sort, paging). Streamlit forgets a widget's
#: value once a run draws another page, so the values are also kept in one plain object
#: (``ViewMemory``) and put back before the widgets are drawn again.
VIEW_WIDGETS = (*FIELD_WIDGETS.values(), "dates", "range", "page", "size", "sort")


def restore_view() -> list[str]:
    """Put the view's widget values in place before anything is drawn: from the URL on the
    first visit of a browser session (or after 重置筛选), else from the kept copy. Returns the
    URL's notices."""
    memory = st.session_state.get(MEMORY_KEY)
    if not isinstance(memory, ViewMemory):
        return _init_from_url()
    for name, value in memory.values.items():
        if K + name not in st.session_state:
            st.session_state[K + name] = value
    return []


def remember_view() -> None:
    values = {
        name: st.session_state[K + name] for name in VIEW_WIDGETS if K + name in st.session_state
    }
    st.session_state[MEMORY_KEY] = ViewMemory(values)


def reset_filters() -> None:
    st.query_params.clear()
    for key in [k for k in st.session_state if str(k).startswith(K)]:
        del st.session_state[key]
    st.session_state.pop(MEMORY_KEY, None)


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
    st.session_state.pop(K + "export", None)


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
# Writes (button callbacks: they run before the page is drawn again)


def flash(kind: str, text: str) -> None:
    st.session_state[K + "flash"] = (kind, text)


def _write(action, success: str) -> None:
    """Run ``action(session, actor)`` for the user as the database holds them now: the ``user``
    of the run that drew the button may have been deactivated, demoted or timed out since (then
    nothing is done and the rerun shows the login page). ``success`` is markdown: user text in
    it must be escaped."""
    actor = common.acting_user(*STAFF_ROLES)
    if actor is None:
        return
    try:
        with db.session_scope() as session:
            action(session, actor)
    except (Conflict, NotFound, NotAllowed) as err:
        flash("error", f"{err}（已重新加载最新数据）")
    except Exception as err:  # FormInvalid, an outage, anything else: a message, never a trace
        flash("error", common.failure_message(err))
    else:
        flash("success", success)
    common.clear_caches()


def do_complete(ids_versions: dict[int, int], note_key: str, label: str) -> None:
    note = st.session_state.get(note_key, "")

    def action(session, actor):
        inquiries.complete(
            session,
            actor=actor,
            inquiry_ids=list(ids_versions),
            note=note,
            expected_versions=ids_versions,
        )

    _write(action, f"已将 {label} 标记为已完成")
    st.session_state.pop(K + "confirm_bulk", None)
    if st.session_state.get(K + "flash", ("",))[0] == "success":
        st.session_state[note_key] = ""
        st.session_state[K + "table_gen"] = st.session_state.get(K + "table_gen", 0) + 1


def do_assign(inquiry_id: int, assignee_id: int | None, label: str) -> None:
    _write(
        lambda s, actor: inquiries.assign(
            s, actor=actor, inquiry_id=inquiry_id, assignee_id=assignee_id
        ),
        f"已将负责人设为 {common.md_escape(label)}",
    )


def do_assign_chosen(inquiry_id: int, choices: dict[int, str]) -> None:
    """分配: the colleague chosen in the select box *now*. A click sent before the rerun of a
    new choice finished carries that choice in the session state, not in the button's args."""
    chosen = st.session_state.get(K + "assign_to")
    if chosen in choices:
        do_assign(inquiry_id, chosen, choices[chosen])


def do_note(inquiry_id: int, note_key: str) -> None:
    text = st.session_state.get(note_key, "")
    _write(
        lambda s, actor: inquiries.add_note(s, actor=actor, inquiry_id=inquiry_id, text=text),
        "备注已添加",
    )
    if st.session_state.get(K + "flash", ("",))[0] == "success":
        st.session_state[note_key] = ""


def open_inquiry(inquiry_id: int | None) -> None:
    st.session_state[K + "open"] = inquiry_id


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


def detail(inquiry_id: int, colleagues: list) -> None:
    try:
        with common.db_errors(), db.session_scope(write=False) as session:
            inq = inquiries.get(session, actor=user, inquiry_id=inquiry_id)
            trail = inquiries.events(session, actor=user, inquiry_id=inquiry_id)
            dups = queries.possible_duplicates(session, actor=user, inquiry=inq)
            names = queries.user_labels(session, [inq.assignee_id])
    except NotFound:
        st.warning("找不到该询保申请")
        st.button("关闭", on_click=open_inquiry, args=(None,), key=K + "close_missing")
        return
    head, close = st.columns([4, 1])
    head.subheader(f"询保申请 {inq.serial}")
    close.button("关闭", on_click=open_inquiry, args=(None,), key=K + "close")
    fields = {
        "询保流水号": inq.serial,
        "公司名称": inq.company_name,
        "注册地址": regions.full_name(inq.province_code, inq.city_code, inq.district_code),
        "详细地址": inq.address_detail,
        "联系人": inq.contact_name,
        "联系手机": inq.mobile,
        "联系固话": inq.landline,
        "联系邮箱": inq.email,
        "询保内容": INTENT_LABELS.get(inq.intent, inq.intent),
        "其他需求": inq.other_needs or "",
        "申请状态": STATUS_LABELS.get(inq.status, inq.status),
        "负责人": names.get(inq.assignee_id, "未分配"),
        "提交时间": clock.show(inq.submitted_at),
        "完成时间": clock.show(inq.completed_at),
    }
    st.dataframe(
        pd.DataFrame({"字段": list(fields), "内容": list(fields.values())}),
        hide_index=True,
        width="stretch",
        height=(len(fields) + 1) * 35 + 3,  # every field visible, no inner scrolling
        key=K + "fields",
    )
    if inq.status == "submitted":
        st.markdown("**处理**")
        if inq.assignee_id != user.id:
            st.button(
                "认领",
                key=K + "claim",
                on_click=do_assign,
                args=(inq.id, user.id, user.label),
            )
        choices = {u.id: u.label for u in colleagues}
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        target = c1.selectbox("分配给", list(choices), format_func=choices.get, key=K + "assign_to")
        c2.button(
            "分配",
            key=K + "assign",
            on_click=do_assign_chosen,
            args=(inq.id, choices),
            disabled=target is None,
        )
        note_key = K + f"complete_note_{inq.id}"
        st.text_area("完成备注（可选）", key=note_key, placeholder=NOTE_HINT)
        st.button(
            "标记为已完成",
            type="primary",
            key=K + "complete",
            on_click=do_complete,
            args=({inq.id: inq.version}, note_key, f"询保申请 {inq.serial}"),
        )
    note_key = K + f"note_{inq.id}"
    st.text_area("备注内容", key=note_key, placeholder=NOTE_HINT)
    st.button("添加备注", key=K + "add_note", on_click=do_note, args=(inq.id, note_key))

    st.markdown("**处理记录**")
    st.dataframe(
        pd.DataFrame(
            {
                "时间": [clock.show(e.at) for e, _ in trail],
                "操作人": [name for _, name in trail],
                "操作": [ACTION_LABELS.get(e.action, e.action) for e, _ in trail],
                "状态": [
                    f"{STATUS_LABELS.get(e.from_status, '')}→{STATUS_LABELS.get(e.to_status, '')}"
                    if e.from_status != e.to_status
                    else STATUS_LABELS.get(e.to_status or "", "")
                    for e, _ in trail
                ],
                "备注": [e.note for e, _ in trail],
            }
        ),
        hide_index=True,
        width="stretch",
        key=K + "trail",
    )
    st.markdown("**可能重复的申请**")
    if not dups:
        st.caption("没有公司名称、联系手机或联系邮箱相同的其他申请")
    match_labels = {"company_name": "公司名称", "mobile": "联系手机", "email": "联系邮箱"}
    for other, matched in dups:
        st.button(
            f"{other.serial} · {common.md_escape(other.company_name)} · 相同："
            + "、".join(match_labels[m] for m in matched),
            key=K + f"dup_{other.id}",
            type="tertiary",
            on_click=open_inquiry,
            args=(other.id,),
        )


def bulk_panel(selected: dict[int, int]) -> None:
    st.info(f"已选择 {len(selected)} 条询保申请")
    note_key = K + "bulk_note"
    st.text_area("批量完成备注（可选）", key=note_key, placeholder=NOTE_HINT)
    if not st.session_state.get(K + "confirm_bulk"):
        if st.button("批量标记为已完成", type="primary", key=K + "bulk"):
            st.session_state[K + "confirm_bulk"] = True
            st.rerun()
        return
    st.warning(f"确认将这 {len(selected)} 条询保申请标记为已完成？")
    c1, c2 = st.columns(2)
    c1.button(
        f"确认完成 {len(selected)} 条",
        type="primary",
        key=K + "bulk_confirm",
        on_click=do_complete,
        args=(selected, note_key, f"{len(selected)} 条询保申请"),
    )
    if c2.button("取消", key=K + "bulk_cancel"):
        st.session_state.pop(K + "confirm_bulk", None)
        st.rerun()


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
        st.session_state[K + "export"] = (flt, sort, kind, n, stamp, out.getvalue())
    ready = st.session_state.get(K + "export")
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

st.title("咨询处理")
notices = restore_view()
for notice in notices:
    st.warning(notice)
message = st.session_state.pop(K + "flash", None)
if message:
    common.show_message(*message)

with common.db_errors(), db.session_scope(write=False) as session:
    staff = accounts.staff_members(session)
colleague_labels = {"me": "我", "none": "未分配"} | {
    str(u.id): u.label for u in staff if u.id != user.id
}
if st.session_state[K + "assignee"] not in colleague_labels:
    st.session_state[K + "assignee"] = ""
flt = sidebar(colleague_labels)

ss = st.session_state
with common.db_errors(), db.session_scope(write=False) as session:
    result = queries.list_page(
        session, flt, actor=user, page=ss[K + "page"], page_size=ss[K + "size"], sort=ss[K + "sort"]
    )
    counts = queries.facets(session, flt, actor=user, capped=result.capped, matched=result.matched)
    assignee_names = queries.user_labels(session, [r.assignee_id for r in result.rows])
    exact = queries.exact_search(flt.search) if flt.search else None
ss[K + "page"] = result.page

# A complete serial or phone number that finds exactly one inquiry opens it at once.
if exact and result.total == 1 and ss.get(K + "jumped") != flt.search:
    ss[K + "jumped"] = flt.search
    ss[K + "open"] = result.rows[0].id

params = flt.to_params()
if result.page != 1:
    params["page"] = str(result.page)
if ss[K + "size"] != 50:
    params["size"] = str(ss[K + "size"])
if ss[K + "sort"] != "-submitted_at":
    params["sort"] = ss[K + "sort"]

st.markdown(f"**共 {result.total_label} 条**")
if counts is None:  # a search matching more than the cap: neither counted nor all pageable
    st.caption(
        f"匹配超过 {result.total:,} 条：只能翻阅最新的 {result.total:,} 条，也不按申请状态和"
        "询保内容分别计数。输入更多字符或加上筛选条件可缩小范围。"
    )
else:
    st.caption(
        "申请状态："
        + "　".join(f"{STATUS_LABELS[c]} {n:,}" for c, n in counts["status"].items())
        + "　｜　询保内容："
        + "　".join(f"{INTENT_LABELS[c]} {n:,}" for c, n in counts["intent"].items())
    )

open_id = ss.get(K + "open")
if open_id:
    params["open"] = str(open_id)
if st.query_params.to_dict() != params:
    st.query_params.from_dict(params)

list_col, detail_col = st.columns([3, 2]) if open_id else (st.container(), None)
with list_col:
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
    remember_view()
    cutoff = clock.overdue_cutoff(utcnow(), get_settings().sla_working_days)
    frame = page_frame(result.rows, assignee_names, cutoff)
    styled = frame.style.apply(
        lambda row: ["background-color: #fde2e1" if row["超时"] else "" for _ in row], axis=1
    )
    event = st.dataframe(
        styled,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key=K + f"table_{ss.get(K + 'table_gen', 0)}_{result.page}",
        column_config={"超时": st.column_config.CheckboxColumn("超时")},
    )
    selected_rows = [i for i in event.selection.rows if 0 <= i < len(result.rows)]
    selected = [result.rows[i] for i in selected_rows]
    last = ss.get(K + "last_selection")
    if selected_rows != last:
        ss[K + "last_selection"] = selected_rows
        if len(selected) == 1 and ss.get(K + "open") != selected[0].id:
            ss[K + "open"] = selected[0].id
            st.rerun()
    submitted = {r.id: r.version for r in selected if r.status == "submitted"}
    if len(selected) > 1:
        if submitted:
            bulk_panel(submitted)
        else:
            st.info("所选的询保申请都已完成")
    export_panel(flt, ss[K + "sort"], result)

if detail_col is not None:
    with detail_col:
        detail(open_id, staff)
