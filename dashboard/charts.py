"""Charts for the report page: pure functions, small DataFrame → ``altair.Chart`` (no Streamlit).

Every chart sets a Chinese-capable font explicitly (the browser and vl-convert's PNG renderer
otherwise fall back to fonts without CJK glyphs) and colours the three intents with one fixed
scale, so 我要投保 has the same colour in every chart, always with a legend.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from models import INTENT_LABELS

FONT = "WenQuanYi Zen Hei, Noto Sans CJK SC, Microsoft YaHei, sans-serif"
INTENT_DOMAIN = list(INTENT_LABELS.values())
INTENT_RANGE = ["#1f77b4", "#ff7f0e", "#2ca02c"]
INTENT_SCALE = alt.Scale(domain=INTENT_DOMAIN, range=INTENT_RANGE)
STATUS_SCALE = alt.Scale(domain=["已提交", "已完成"], range=["#f2b134", "#4c9f70"])
PROVINCE_SELECTION = "province"


def _intent_color() -> alt.Color:
    return alt.Color("询保内容:N", scale=INTENT_SCALE, legend=alt.Legend(title="询保内容"))


def _styled(chart: alt.Chart, title: str) -> alt.Chart:
    return (
        chart.properties(title=title, width="container", height=300)
        .configure(font=FONT)
        .configure_title(font=FONT, fontSize=15, anchor="start")
        .configure_axis(labelFont=FONT, titleFont=FONT)
        .configure_legend(labelFont=FONT, titleFont=FONT, orient="bottom")
    )


def intent_bar(df: pd.DataFrame) -> alt.Chart:
    """Volume by intent (columns 询保内容, 数量, 占比)."""
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("数量:Q", title="咨询数量"),
            y=alt.Y("询保内容:N", title="询保内容", sort=INTENT_DOMAIN),
            color=_intent_color(),
            tooltip=[
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("数量:Q", format=","),
                alt.Tooltip("占比:Q", format=".1%"),
            ],
        )
    )
    return _styled(chart, "各类询保内容的咨询数量")


def intent_share(df: pd.DataFrame) -> alt.Chart:
    """Share of each intent per period (columns 期间, 询保内容, 数量, 占比)."""
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("期间:T", title="期间", axis=alt.Axis(format="%Y-%m-%d")),
            y=alt.Y("数量:Q", stack="normalize", title="占比", axis=alt.Axis(format="%")),
            color=_intent_color(),
            order=alt.Order("intent:N"),
            tooltip=[
                alt.Tooltip("期间:T", format="%Y-%m-%d"),
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("数量:Q", format=","),
                alt.Tooltip("占比:Q", format=".1%"),
            ],
        )
    )
    return _styled(chart, "询保内容占比变化")


def region_bar(df: pd.DataFrame, *, title: str, selectable: bool) -> alt.Chart:
    """Sorted horizontal bar by region (columns code, 地区, 数量); a point selection on province
    code when ``selectable`` so that clicking a province drills down."""
    chart = (
        alt.Chart(df)
        .mark_bar(color="#1f77b4")
        .encode(
            x=alt.X("数量:Q", title="咨询数量"),
            y=alt.Y("地区:N", title="地区", sort="-x"),
            tooltip=[alt.Tooltip("地区:N"), alt.Tooltip("数量:Q", format=",")],
        )
    )
    if selectable:
        sel = alt.selection_point(name=PROVINCE_SELECTION, fields=["code"])
        chart = chart.add_params(sel).encode(
            opacity=alt.condition(sel, alt.value(1.0), alt.value(0.55))
        )
    # One fixed step per bar so every region name has room, however many there are.
    return _styled(chart, title).properties(height=alt.Step(24))


def trend_chart(df: pd.DataFrame, granularity_label: str) -> alt.Chart:
    """Stacked area of volume per period by intent (columns 期间, 询保内容, 数量)."""
    chart = (
        alt.Chart(df)
        .mark_area(opacity=0.85)
        .encode(
            x=alt.X(
                "期间:T",
                title=f"期间（按{granularity_label}）",
                axis=alt.Axis(format="%Y-%m-%d"),
            ),
            y=alt.Y("数量:Q", stack="zero", title="咨询数量"),
            color=_intent_color(),
            order=alt.Order("intent:N"),
            tooltip=[
                alt.Tooltip("期间:T", format="%Y-%m-%d"),
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("数量:Q", format=","),
            ],
        )
    )
    return _styled(chart, f"咨询量趋势（按{granularity_label}）")


def status_mix_chart(df: pd.DataFrame) -> alt.Chart:
    """Submitted vs completed per intent (columns 询保内容, 状态, 数量)."""
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("数量:Q", stack="zero", title="咨询数量"),
            y=alt.Y("询保内容:N", title="询保内容", sort=INTENT_DOMAIN),
            color=alt.Color("状态:N", scale=STATUS_SCALE, legend=alt.Legend(title="申请状态")),
            tooltip=[
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("状态:N"),
                alt.Tooltip("数量:Q", format=","),
            ],
        )
    )
    return _styled(chart, "各类询保内容的处理状态")


def completion_time_chart(df: pd.DataFrame) -> alt.Chart:
    """Histogram of submission → completion time (columns 用时, 数量, 序号)."""
    order = list(df.sort_values("序号")["用时"])
    chart = (
        alt.Chart(df)
        .mark_bar(color="#4c9f70")
        .encode(
            x=alt.X("用时:N", title="提交到完成的用时", sort=order, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("数量:Q", title="已完成咨询数量"),
            tooltip=[alt.Tooltip("用时:N"), alt.Tooltip("数量:Q", format=",")],
        )
    )
    return _styled(chart, "处理用时分布")
