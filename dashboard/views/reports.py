"""统计报表 — the manager's notebook: controls, then 概览, 按询保内容, 按地区, 趋势, 处理效率 and
人员工作量; 下载报告 saves it all as one HTML file (``dashboard.report_file``).

The controls live in ``st.query_params`` (``ReportFilter.to_params``), so a link reproduces the
page. Results are cached per ``ReportFilter`` for a short time; writes elsewhere clear the cache.
A click on a bar, a point, a region or a number of 人员工作量 opens 咨询处理 filtered to exactly
those inquiries (``dashboard.drill``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import partial

import pandas as pd
import streamlit as st

from dashboard import charts, clock, db, drill, narrative, regions, report_file, reports
from dashboard.reports import Report, ReportFilter
from dashboard.views import common, triage_state, widgets
from dashboard.views.chart_cache import TTL, Chart
from dashboard.workload import workload as people_workload
from models import INTENT_LABELS

DRILL_KEY = "reports_drill"
#: 咨询处理's URL parameters for a mark clicked in a chart (``_chart_clicked``).
DRILL_TO_KEY = "reports_drill_to"
TRIAGE_PAGE = "views/triage.py"
K = "reports_"

drill_to = st.session_state.pop(DRILL_TO_KEY, None)
user = common.require_role("manager")
if drill_to is not None:
    # Straight to 咨询处理: drawing the report again first, up to the chart clicked, cost the
    # server its sections and the browser their redrawing, for a page about to go.
    triage_state.forget()
    st.switch_page(TRIAGE_PAGE, query_params=drill_to)
st.title("统计报表")


# ---------------------------------------------------------------------------------------------
# Cached domain calls (keyed by the hashable filter)


def _run(fn, *args, **kwargs):
    # The user is re-read here (on a cache miss); the domain refuses anyone but a manager.
    actor = common.current_user()
    with common.db_errors(), db.session_scope(write=False) as session:
        return fn(session, *args, actor=actor, **kwargs)


@st.cache_data(ttl=TTL, show_spinner=False)
def _report(flt: ReportFilter) -> Report:
    return _run(reports.report, flt, workload=False)


@st.cache_data(ttl=TTL, show_spinner=False)
def _workload(flt: ReportFilter) -> pd.DataFrame:
    return _run(people_workload, flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def _cities(flt: ReportFilter, province_code: str) -> pd.DataFrame:
    return _run(reports.volume_by_region, flt, province_code)


def _html(flt: ReportFilter, actor) -> str:
    # Called when 下载报告 is clicked, outside any page run: the actor is the one this page was
    # drawn for (the domain re-reads it and answers managers only), not the run's current user.
    with db.session_scope(write=False) as session:
        return report_file.write_report(session, flt, actor=actor)


# ---------------------------------------------------------------------------------------------
# Controls: the widgets start from the URL (once per visit) and write it back


def _range_of(pick: str) -> tuple:
    if pick == "自定义":
        chosen = tuple(st.session_state.get(K + "range") or ())
        return (chosen[0], chosen[-1]) if chosen else (None, None)
    return clock.period(pick, clock.today())


def _period_changed() -> None:
    """A new period gets the granularity that draws it readably (days for a month, months for
    a year); the user may change it afterwards."""
    start, end = _range_of(st.session_state[K + "period"])
    if start and end:
        st.session_state[K + "granularity"] = reports.default_granularity(start, end)


def _seed_widgets(flt: ReportFilter) -> None:
    """Put the URL's filter into widgets not on the page yet (no widget gets a default as well:
    Streamlit warns when both are set)."""
    today = clock.today()
    picks = {name: clock.period(name, today) for name in reports.QUICK_PERIODS}
    current = next((n for n, rng in picks.items() if rng == (flt.start, flt.end)), "自定义")
    ss = st.session_state
    for key, value in (
        ("period", current),
        ("range", (flt.start, flt.end)),
        ("intents", list(flt.intents)),
        ("province", flt.province_code or ""),
        ("granularity", flt.granularity),
    ):
        if K + key not in ss:
            ss[K + key] = value


def _controls() -> ReportFilter:
    today = clock.today()
    flt, notices = ReportFilter.from_params(st.query_params, default=reports.default_filter(today))
    for notice in notices:
        st.warning(notice)
    _seed_widgets(flt)
    options = [*reports.QUICK_PERIODS, "自定义"]
    c1, c2, c3, c4 = st.columns([2, 3, 3, 2])
    pick = c1.selectbox("期间", options, key=K + "period", on_change=_period_changed)
    if pick == "自定义":
        c1.date_input(
            "自定义日期范围",
            min_value=clock.EARLIEST,
            max_value=today + timedelta(days=366),
            key=K + "range",
            on_change=_period_changed,
        )
    start, end = _range_of(pick)
    if not (start and end):  # a range being picked: one day chosen so far
        start, end = flt.start, flt.end
    intents = widgets.code_multiselect(
        c2, "询保内容", INTENT_LABELS, key=K + "intents", placeholder="全部询保内容"
    )
    # "" rather than None for 全部省份: a selectbox holding None shows no choice at all.
    province_codes = ["", *(p.code for p in regions.provinces())]
    province = c3.selectbox(
        "省份",
        province_codes,
        format_func=lambda c: regions.name(c) if c else "全部省份",
        key=K + "province",
    )
    granularity = c4.radio(
        "时间粒度",
        list(reports.GRANULARITIES),
        format_func=reports.GRANULARITIES.get,
        horizontal=True,
        key=K + "granularity",
    )
    chosen = ReportFilter(start, end, tuple(intents), province or None, granularity)
    if chosen.to_params() != dict(st.query_params.to_dict()):
        st.query_params.from_dict(chosen.to_params())
    return chosen


# ---------------------------------------------------------------------------------------------
# Drill-through to 咨询处理


def _open_triage(flt: ReportFilter, mark: drill.Mark) -> None:
    """Go to 咨询处理 showing exactly the inquiries of ``mark``."""
    params = drill.triage_params(flt, mark, actor_id=user.id)
    triage_state.forget()
    st.switch_page(TRIAGE_PAGE, query_params=params)


def _picked(event) -> dict | None:
    """The datum of the clicked mark, if a chart reported one."""
    selection = getattr(event, "selection", None) or {}
    picked = selection.get(charts.PICK) if hasattr(selection, "get") else None
    return picked[0] if picked else None


def _chart_clicked(flt: ReportFilter, key: str, mark: dict) -> None:
    """A chart's callback: a click on a mark sends the next run to 咨询处理 (top of the page),
    showing exactly its inquiries; ``mark`` adds to what the clicked datum says."""
    datum = _picked(st.session_state.get(key))
    if not datum:
        return
    actor = common.current_user()  # re-read: this page's ``user`` is from the run before
    if actor is None:
        return
    # What the browser sent is text at best; drill.inquiries_of checks every code.
    fields = {
        name: None if datum.get(source) is None else str(datum.get(source))
        for name, source in (
            ("bucket", "bucket"),
            ("intent", "intent"),
            ("region", "code"),
            ("status", "status"),
            ("assignee", "assignee"),
            ("completion", "序号"),
        )
    }
    mark = drill.Mark(**(fields | mark))
    st.session_state[DRILL_TO_KEY] = drill.triage_params(flt, mark, actor_id=actor.id)


def _clickable(flt: ReportFilter, chart: Chart, key: str, **mark) -> None:
    """Draw a chart whose marks open 咨询处理; ``mark`` adds to what the clicked datum says."""
    st.vega_lite_chart(
        spec=chart.spec(),
        width="stretch",
        on_select=partial(_chart_clicked, flt, key, mark),
        selection_mode=charts.PICK,
        key=key,
    )


def _link_button(flt: ReportFilter, label: str, mark: drill.Mark, key: str, where=st) -> None:
    if where.button(label, key=K + key, type="tertiary", icon=":material/open_in_new:"):
        _open_triage(flt, mark)


# ---------------------------------------------------------------------------------------------
# Rendering helpers


def _say(sentences: list[narrative.Sentence]) -> None:
    st.markdown(" ".join(narrative.as_markdown(s, common.md_escape) for s in sentences))


def _data_expander(
    flt: ReportFilter, name: str, table: pd.DataFrame, chart: Chart | None = None
) -> None:
    """The numbers behind a chart, and the chart and its numbers as files named after what
    they show (section, period, filters); the PNG carries them in its title."""
    stem = narrative.file_stem(name, flt)
    with st.expander("查看数据"):
        st.dataframe(table, hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        csv = table.to_csv(index=False).encode("utf-8-sig")
        c1.download_button(
            "下载数据（CSV）",
            csv,
            f"{stem}.csv",
            "text/csv",
            key=f"csv_{name}",
            on_click="ignore",
            icon=":material/description:",
        )
        if chart is not None:
            c2.download_button(
                "下载图表（PNG）",
                chart.png,
                f"{stem}.png",
                "image/png",
                key=f"png_{name}",
                on_click="ignore",
                icon=":material/image:",
            )


def _metrics(report: Report) -> None:
    ov = report.overview.set_index("指标")
    cols = st.columns(5)
    for col, metric in zip(cols, ("新增咨询", "待处理", "已完成"), strict=False):
        cur, prev = ov.loc[metric, "当前"], ov.loc[metric, "上期"]
        delta = None if prev is None or pd.isna(prev) else f"{int(cur) - int(prev):+,}"
        col.metric(
            metric,
            narrative.fmt_int(cur),
            delta,
            delta_color="off" if metric == "待处理" else "normal",
        )
    cur, prev = ov.loc["完成率", "当前"], ov.loc["完成率", "上期"]
    ok = not (cur is None or prev is None or pd.isna(cur) or pd.isna(prev))
    cols[3].metric(
        "完成率", narrative.fmt_pct(cur), f"{(cur - prev) * 100:+.0f} 个百分点" if ok else None
    )
    med_cur, med_prev = ov.loc["完成用时中位数（小时）", ["当前", "上期"]]
    med_ok = not (med_cur is None or pd.isna(med_cur) or med_prev is None or pd.isna(med_prev))
    cols[4].metric(
        "完成用时中位数",
        narrative.duration(med_cur),
        f"{med_cur - med_prev:+.1f} 小时" if med_ok else None,
        delta_color="inverse",
    )


#: 人员工作量's columns, and what a click on each opens (the person's inquiries of that kind).
WORKLOAD_CLICKS = {
    "待处理": {"status": "submitted"},
    "已完成": {"status": "completed"},
    "超时": {"overdue": True},
    "完成用时中位数（小时）": {"status": "completed"},
    "负责人": {},
}


def _workload_table(flt: ReportFilter, df: pd.DataFrame) -> None:
    event = st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        column_order=["负责人", "待处理", "超时", "已完成", "完成用时中位数（小时）"],
        column_config={
            "负责人": st.column_config.TextColumn("负责人", help="点击姓名查看其本期全部咨询"),
            "待处理": st.column_config.NumberColumn("待处理", format="%d"),
            "超时": st.column_config.NumberColumn(
                "超时",
                format="%d",
                help=f"已提交超过 {reports.get_settings().sla_working_days} 个工作日仍未完成",
            ),
            "已完成": st.column_config.NumberColumn("已完成", format="%d"),
            "完成用时中位数（小时）": st.column_config.NumberColumn(
                "完成用时中位数（小时）", format="%.1f", help="从提交到完成，精确到 1 小时以内"
            ),
        },
        on_select="rerun",
        selection_mode="single-cell",
        key=K + "workload_table",
    )
    cells = getattr(getattr(event, "selection", None), "cells", None) or []
    if cells:
        row, column = cells[0]
        if 0 <= row < len(df) and column in WORKLOAD_CLICKS:
            mark = drill.Mark(assignee=df.iloc[row]["assignee"], **WORKLOAD_CLICKS[column])
            _open_triage(flt, mark)


# ---------------------------------------------------------------------------------------------
# The page

flt = _controls()
sub = narrative.caption(flt)
c1, c2 = st.columns([5, 1], vertical_alignment="center")
c1.caption(f"统计期间：{narrative.period_text(flt)}（北京时间，按提交日期；暂存不计入）")
c2.download_button(
    "下载报告",
    partial(_html, flt, user),
    report_file.file_name(flt),
    "text/html",
    key=K + "download",
    on_click="ignore",
    icon=":material/download:",
    help="整页报告保存为一个 HTML 文件（含图表），可离线打开、转发或打印",
)
report = _report(flt)

st.header("概览")
if not report.total:
    st.info("所选期间没有已提交的咨询。请换一个期间或放宽筛选条件。", icon=":material/info:")
    st.stop()
_say(narrative.overview(report))
_metrics(report)
b1, b2, b3, _ = st.columns([1, 1, 1, 2])
_link_button(flt, "查看本期全部咨询", drill.Mark(), "all", b1)
_link_button(flt, "查看待处理咨询", drill.Mark(status="submitted"), "waiting", b2)
_link_button(flt, "查看已完成咨询", drill.Mark(status="completed"), "done", b3)
_data_expander(flt, "概览", report.overview)

st.header("按询保内容")
_say(narrative.by_intent(report))
st.caption("点击图中的柱可在咨询处理中查看这些咨询。")
bar = Chart("intent_bar", report.by_intent, {"subtitle": sub})
_clickable(flt, bar, K + "intent_chart")
_data_expander(flt, "按询保内容", report.by_intent[["询保内容", "数量", "占比"]], bar)
share_chart = Chart("intent_share", report.share, {"granularity": flt.granularity, "subtitle": sub})
_clickable(flt, share_chart, K + "share_chart")
_data_expander(
    flt, "询保内容占比", report.share[["bucket", "询保内容", "数量", "占比"]], share_chart
)

st.header("按地区")
drilled: str | None = flt.province_code or st.session_state.get(DRILL_KEY)
if drilled and not flt.province_code and st.button("← 返回全部省份", key=K + "back"):
    st.session_state.pop(DRILL_KEY, None)
    drilled = None
    st.rerun()
if drilled:
    regions_df = report.regions if flt.province_code else _cities(flt, drilled)
    title = f"{regions.name(drilled)}各城市咨询数量"
else:
    regions_df = report.regions
    title = "各省份咨询数量"
_say(narrative.by_region(regions_df, drilled))
st.caption("点击地区的柱可在咨询处理中查看这些咨询。")
region_sub = narrative.caption(replace(flt, province_code=drilled)) if drilled else sub
region_chart = Chart("region_bar", regions_df, {"title": title, "subtitle": region_sub})
_clickable(flt, region_chart, K + f"region_chart_{drilled or 'all'}", province=drilled)
if not drilled:
    choice = st.selectbox(
        "查看省份的城市",
        [None, *regions_df["code"]],
        format_func=lambda c: "请选择省份" if c is None else regions.name(c),
        key=K + "drill_select",
    )
    if choice:
        st.session_state[DRILL_KEY] = choice
        st.session_state.pop(K + "drill_select", None)
        st.rerun()
_data_expander(flt, "按地区", regions_df[["地区", "数量"]], region_chart)

st.header("趋势")
_say(narrative.trend(report))
st.caption("点击图中的点可在咨询处理中查看该期间的这些咨询。")
trend_chart = Chart("trend_chart", report.trend, {"granularity": flt.granularity, "subtitle": sub})
_clickable(flt, trend_chart, K + "trend_chart")
_data_expander(flt, "趋势", report.trend[["bucket", "询保内容", "数量"]], trend_chart)

st.header("处理效率")
_say(narrative.efficiency(report))
st.caption("点击图中的柱可在咨询处理中查看这些咨询。")
if report.overdue:
    _link_button(flt, f"查看 {report.overdue:,} 条超时咨询", drill.Mark(overdue=True), "overdue")
mix_chart = Chart("status_mix_chart", report.status_mix, {"subtitle": sub})
_clickable(flt, mix_chart, K + "mix_chart")
_data_expander(flt, "处理状态", report.status_mix[["询保内容", "状态", "数量"]], mix_chart)
if report.completion_time["数量"].sum():
    time_chart = Chart("completion_time_chart", report.completion_time, {"subtitle": sub})
    _clickable(flt, time_chart, K + "time_chart")
    _data_expander(flt, "处理用时", report.completion_time[["用时", "数量"]], time_chart)
else:
    st.info("本期还没有已完成的咨询，暂无处理用时分布。", icon=":material/info:")

st.header("人员工作量")
with st.spinner("正在统计人员工作量…"):
    workload = _workload(flt)
_say(narrative.workload(workload))
st.caption("点击列名排序；点击数字或姓名可在咨询处理中查看这些咨询。")
_workload_table(flt, workload)
if workload["待处理"].sum():
    load_chart = Chart("workload_chart", workload, {"subtitle": sub})
    _clickable(flt, load_chart, K + "workload_chart", status="submitted")
else:
    load_chart = None
_data_expander(flt, "人员工作量", report_file.workload_table(workload), load_chart)
