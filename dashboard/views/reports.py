"""统计报表 — the manager's notebook: controls, then 概览, 按询保内容, 按地区, 趋势, 处理效率.

The controls live in ``st.query_params`` (``ReportFilter.to_params``), so a link reproduces the
page. Results are cached per ``ReportFilter`` for a short time; writes elsewhere clear the cache.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import charts, clock, db, regions, reports
from dashboard.reports import ReportFilter
from dashboard.views import common
from models import INTENT_LABELS

TTL = 30  # seconds: a completion by staff in another session shows up soon even without a clear
DRILL_KEY = "reports_drill"

user = common.require_role("manager")
st.title("统计报表")


# ---------------------------------------------------------------------------------------------
# Cached domain calls (keyed by the hashable filter)


def _run(fn, *args):
    # The user is re-read here (on a cache miss); the domain refuses anyone but a manager.
    actor = common.current_user()
    with common.db_errors(), db.session_scope(write=False) as session:
        return fn(session, *args, actor=actor)


@st.cache_data(ttl=TTL, show_spinner=False)
def _overview(flt: ReportFilter) -> pd.DataFrame:
    return _run(reports.overview, flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def _by_intent(flt: ReportFilter) -> pd.DataFrame:
    return _run(reports.volume_by_intent, flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def _share(flt: ReportFilter) -> pd.DataFrame:
    return _run(reports.intent_share_over_time, flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def _by_region(flt: ReportFilter, province_code: str | None) -> pd.DataFrame:
    return _run(reports.volume_by_region, flt, province_code)


@st.cache_data(ttl=TTL, show_spinner=False)
def _trend(flt: ReportFilter) -> pd.DataFrame:
    return _run(reports.trend, flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def _efficiency(flt: ReportFilter) -> dict:
    return _run(reports.efficiency, flt)


@st.cache_data(show_spinner=False, max_entries=64)
def _png(spec_json: str) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec_json, scale=2)


# ---------------------------------------------------------------------------------------------
# Controls


def _default_filter(today: date) -> ReportFilter:
    start, end = clock.period("本月", today)
    return ReportFilter(start, end)


def _controls() -> ReportFilter:
    today = clock.today()
    flt, notices = ReportFilter.from_params(st.query_params, default=_default_filter(today))
    for notice in notices:
        st.warning(notice)
    picks = {name: clock.period(name, today) for name in reports.QUICK_PERIODS}
    current = next((n for n, rng in picks.items() if rng == (flt.start, flt.end)), "自定义")
    options = [*reports.QUICK_PERIODS, "自定义"]
    c1, c2, c3, c4 = st.columns([2, 3, 3, 2])
    pick = c1.selectbox("期间", options, index=options.index(current), key="reports_period")
    if pick == "自定义":
        rng = c1.date_input(
            "自定义日期范围",
            value=(flt.start, flt.end),
            min_value=clock.EARLIEST,
            max_value=today + timedelta(days=366),
            key="reports_range",
        )
        start, end = (rng[0], rng[-1]) if isinstance(rng, tuple) and rng else (flt.start, flt.end)
    else:
        start, end = picks[pick]
    intents = c2.multiselect(
        "询保内容",
        list(INTENT_LABELS),
        default=list(flt.intents),
        format_func=INTENT_LABELS.get,
        placeholder="全部询保内容",
        key="reports_intents",
    )
    province_codes = [None, *(p.code for p in regions.provinces())]
    province = c3.selectbox(
        "省份",
        province_codes,
        index=province_codes.index(flt.province_code),
        format_func=lambda c: "全部省份" if c is None else regions.name(c),
        key="reports_province",
    )
    gran_codes = list(reports.GRANULARITIES)
    granularity = c4.radio(
        "时间粒度",
        gran_codes,
        index=gran_codes.index(flt.granularity),
        format_func=reports.GRANULARITIES.get,
        horizontal=True,
        key="reports_granularity",
    )
    chosen = ReportFilter(start, end, tuple(intents), province, granularity)
    if chosen.to_params() != dict(st.query_params.to_dict()):
        st.query_params.from_dict(chosen.to_params())
    start_text, end_text = chosen.start.isoformat(), chosen.end.isoformat()
    if chosen.start == clock.EARLIEST:
        start_text = "最早"
    st.caption(f"统计期间：{start_text} 至 {end_text}（北京时间，按提交日期；暂存不计入）")
    return chosen


# ---------------------------------------------------------------------------------------------
# Rendering helpers


def _fmt_int(n: float | int) -> str:
    return f"{int(n):,}"


def _fmt_pct(x: float | None) -> str:
    return "—" if x is None or pd.isna(x) else f"{x:.0%}"


def _change_phrase(cur: float, prev: float) -> str:
    change = reports.pct_change(cur, prev)
    if change is None:
        return "上期无数据可比"
    if change == 0:
        return "与上期持平"
    word = "增长" if change > 0 else "下降"
    return f"较上期{word} {abs(change):.0%}"


def _duration(hours: float | None) -> str:
    if hours is None or pd.isna(hours):
        return "—"
    return f"{hours:.1f} 小时" if hours < 48 else f"{hours / 24:.1f} 天"


def _data_expander(name: str, table: pd.DataFrame, chart: alt.Chart | None) -> None:
    with st.expander("查看数据"):
        st.dataframe(table, hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        csv = table.to_csv(index=False).encode("utf-8-sig")
        c1.download_button(
            "下载数据（CSV）",
            csv,
            f"{name}.csv",
            "text/csv",
            key=f"csv_{name}",
            icon=":material/description:",
        )
        if chart is not None:
            c2.download_button(
                "下载图表（PNG）",
                partial(_png, chart.to_json()),
                f"{name}.png",
                "image/png",
                key=f"png_{name}",
                icon=":material/image:",
            )


def _chart(chart: alt.Chart, **kwargs):
    return st.altair_chart(chart, width="stretch", **kwargs)


# ---------------------------------------------------------------------------------------------
# The page

flt = _controls()

st.header("概览")
ov = _overview(flt).set_index("指标")
if flt.start == clock.EARLIEST:  # 全部: there is no earlier period to compare with
    ov["上期"] = None
total = ov.loc["新增咨询", "当前"]
if not total:
    st.info("所选期间没有已提交的咨询。请换一个期间或放宽筛选条件。", icon=":material/info:")
    st.stop()

by_intent = _by_intent(flt)
top = by_intent.sort_values("数量", ascending=False).iloc[0]
st.markdown(
    f"本期新增 **{_fmt_int(total)}** 条咨询，"
    f"{_change_phrase(total, ov.loc['新增咨询', '上期'])}，"
    f"其中{top['询保内容']}占 {_fmt_pct(top['占比'])}。"
)
cols = st.columns(5)
for col, (metric, kind) in zip(
    cols,
    [("新增咨询", "int"), ("待处理", "int"), ("已完成", "int"), ("完成率", "pct")],
    strict=False,
):
    cur, prev = ov.loc[metric, "当前"], ov.loc[metric, "上期"]
    if kind == "int":
        delta = None if prev is None or pd.isna(prev) else f"{int(cur) - int(prev):+,}"
        col.metric(
            metric, _fmt_int(cur), delta, delta_color="off" if metric == "待处理" else "normal"
        )
    else:
        ok = cur is not None and prev is not None and not pd.isna(cur) and not pd.isna(prev)
        delta = f"{(cur - prev) * 100:+.0f} 个百分点" if ok else None
        col.metric(metric, _fmt_pct(cur), delta)
med_cur, med_prev = (
    ov.loc["完成用时中位数（小时）", "当前"],
    ov.loc["完成用时中位数（小时）", "上期"],
)
med_ok = not (med_cur is None or pd.isna(med_cur) or med_prev is None or pd.isna(med_prev))
cols[4].metric(
    "完成用时中位数",
    _duration(med_cur),
    f"{med_cur - med_prev:+.1f} 小时" if med_ok else None,
    delta_color="inverse",
)
_data_expander("概览", ov.reset_index(), None)

st.header("按询保内容")
st.markdown(
    "本期"
    + "，".join(
        f"{r['询保内容']} {_fmt_int(r['数量'])} 条（{_fmt_pct(r['占比'])}）"
        for _, r in by_intent.iterrows()
    )
    + "。"
)
bar = charts.intent_bar(by_intent)
_chart(bar)
_data_expander("按询保内容", by_intent[["询保内容", "数量", "占比"]], bar)
share = _share(flt)
share_chart = charts.intent_share(share)
_chart(share_chart)
_data_expander("询保内容占比", share[["期间", "询保内容", "数量", "占比"]], share_chart)

st.header("按地区")
drill: str | None = flt.province_code or st.session_state.get(DRILL_KEY)
if drill and not flt.province_code and st.button("← 返回全部省份", key="reports_back"):
    st.session_state.pop(DRILL_KEY, None)
    drill = None
    st.rerun()
regions_df = _by_region(flt, drill)
if drill:
    top_city = regions_df.iloc[0] if len(regions_df) else None
    lead = (
        f"，最多的是{top_city['地区']}（{_fmt_int(top_city['数量'])} 条）"
        if top_city is not None
        else ""
    )
    st.markdown(
        f"{regions.name(drill)}本期共 **{_fmt_int(regions_df['数量'].sum())}** 条咨询，"
        f"来自 {len(regions_df)} 个城市{lead}。"
    )
    region_chart = charts.region_bar(
        regions_df, title=f"{regions.name(drill)}各城市咨询数量", selectable=False
    )
    _chart(region_chart, key="reports_city_chart")
else:
    top3 = "、".join(regions_df["地区"].head(3))
    share3 = regions_df["数量"].head(3).sum() / regions_df["数量"].sum()
    st.markdown(f"咨询最多的省份是{top3}，合计占 {_fmt_pct(share3)}。点击省份查看其城市。")
    region_chart = charts.region_bar(regions_df, title="各省份咨询数量", selectable=True)
    event = _chart(region_chart, on_select="rerun", key="reports_region_chart")
    picked = (event.selection or {}).get(charts.PROVINCE_SELECTION) if event else None
    if picked:
        st.session_state[DRILL_KEY] = picked[0]["code"]
        st.rerun()
    choice = st.selectbox(
        "查看省份的城市",
        [None, *regions_df["code"]],
        format_func=lambda c: "请选择省份" if c is None else regions.name(c),
        key="reports_drill_select",
    )
    if choice:
        st.session_state[DRILL_KEY] = choice
        st.session_state.pop("reports_drill_select", None)
        st.rerun()
_data_expander("按地区", regions_df[["地区", "数量"]], region_chart)

st.header("趋势")
tr = _trend(flt)
gran_label = reports.GRANULARITIES[flt.granularity]
per_bucket = tr.groupby("期间")["数量"].sum()
peak_at, peak = per_bucket.idxmax(), per_bucket.max()
st.markdown(
    f"按{gran_label}统计共 {len(per_bucket)} 个{gran_label}期间，平均每{gran_label} "
    f"{per_bucket.mean():,.0f} 条，最高在 {peak_at:%Y-%m-%d} 起的一{gran_label}（{_fmt_int(peak)} 条）。"
)
trend_chart = charts.trend_chart(tr, gran_label)
_chart(trend_chart)
_data_expander("趋势", tr[["期间", "询保内容", "数量"]], trend_chart)

st.header("处理效率")
eff = _efficiency(flt)
mix, times, overdue = eff["status_mix"], eff["completion_time"], eff["overdue"]
done = int(mix.loc[mix["status"] == "completed", "数量"].sum())
fast = times.loc[times["序号"] <= 1, "数量"].sum()
st.markdown(
    f"本期已完成 {_fmt_int(done)} 条，其中 {_fmt_pct(fast / done if done else None)} 在 24 小时内完成；"
    f"仍有 **{_fmt_int(overdue)}** 条已提交咨询超过 {reports.get_settings().sla_working_days} "
    "个工作日未处理（超时）。"
)
mix_chart = charts.status_mix_chart(mix)
_chart(mix_chart)
_data_expander("处理状态", mix[["询保内容", "状态", "数量"]], mix_chart)
if done:
    time_chart = charts.completion_time_chart(times)
    _chart(time_chart)
    _data_expander("处理用时", times[["用时", "数量"]], time_chart)
else:
    st.info("本期还没有已完成的咨询，暂无处理用时分布。", icon=":material/info:")
