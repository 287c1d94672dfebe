"""Charts for the report page and the report file: pure functions, small DataFrame →
``altair.Chart`` (no Streamlit, no database).

Every chart sets a Chinese-capable font explicitly (the browser and vl-convert's renderer
otherwise fall back to fonts without CJK glyphs), colours the three intents with one fixed scale
(我要投保 has the same colour everywhere, always with a legend) and carries the period and the
filters in its subtitle, so a PNG or an SVG says what it shows.

Counts are whole numbers and their axes say so (``tickMinStep`` 1, no decimals, also when every
count is 0). A trend is drawn with lines and points on a time axis whose ticks fall on calendar
days (month starts, Mondays), so one bucket still shows as points; shares over time are bars on a
band axis, one band per bucket. The time axis is in UTC on both sides: a bucket is sent as its
ISO date, which Vega reads as UTC midnight, so the browser's time zone cannot shift a day.

Charts that can be clicked through to their inquiries select on ``PICK`` with the fields that
name the mark (``drill.Mark``): ``bucket`` (ISO date), ``intent``, ``code``, ``status``,
``assignee``.
"""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

from models import INTENT_LABELS

FONT = "WenQuanYi Zen Hei, Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"
INTENT_DOMAIN = list(INTENT_LABELS.values())
INTENT_RANGE = ["#1f77b4", "#ff7f0e", "#2ca02c"]
INTENT_SCALE = alt.Scale(domain=INTENT_DOMAIN, range=INTENT_RANGE)
STATUS_SCALE = alt.Scale(domain=["已提交", "已完成"], range=["#f2b134", "#4c9f70"])
WORKLOAD_SCALE = alt.Scale(domain=["超时", "未超时"], range=["#d62728", "#f2b134"])
#: The point selection of every clickable chart; its value is the clicked mark's fields.
PICK = "pick"
#: What the fields of a clicked mark are called in each clickable chart.
PICK_FIELDS = {
    "intent_bar": ["intent"],
    "intent_share": ["bucket", "intent"],
    "trend": ["bucket", "intent"],
    "region": ["code"],
    "status_mix": ["intent", "status"],
    "workload": ["assignee"],
    "time": ["序号"],
}
GRANULARITY_LABELS = {"day": "日", "week": "周", "month": "月"}
#: At most this many ticks on a time axis (about 70 px each in a 760 px wide chart).
MAX_TICKS = 10
#: The width of a chart in a file (PNG, the report's SVG); on the page charts fill their column.
FILE_WIDTH = 720


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _intent_color() -> alt.Color:
    return alt.Color("询保内容:N", scale=INTENT_SCALE, legend=alt.Legend(title="询保内容"))


def _count_axis(title: str, counts: pd.Series) -> dict:
    """A quantitative channel's scale and axis for whole counts: integer ticks only, and a
    domain of at least 0–1, so that all-zero data still draws an axis of 0 and 1 (Vega's default
    for an empty domain ticks 0.00 to 1.00 in steps of 0.05)."""
    top = int(counts.max()) if len(counts) else 0
    scale = alt.Scale(domainMin=0) if top else alt.Scale(domain=[0, 1])
    axis = alt.Axis(title=title, format=",d", tickMinStep=1, tickCount=min(10, max(top, 1)))
    return {"scale": scale, "axis": axis}


def _styled(chart: alt.TopLevelMixin, title: str, subtitle: str) -> alt.TopLevelMixin:
    # One ``properties`` call with the whole ``config``: each of altair's chained ``configure_*``
    # calls deep-copies the chart with its data (most of the time it took to build one).
    return chart.properties(
        title=alt.TitleParams(text=title, subtitle=subtitle)
        if subtitle
        else alt.TitleParams(text=title),
        width="container",
        # Fit the width only: Streamlit's theme fits the whole chart (title, axes, legend)
        # into its height, which squashes the plot of a chart with rotated labels to a strip.
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        config=alt.Config(
            font=FONT,
            title=alt.TitleConfig(
                font=FONT, subtitleFont=FONT, fontSize=15, subtitleFontSize=12, anchor="start"
            ),
            axis=alt.AxisConfig(labelFont=FONT, titleFont=FONT),
            legend=alt.LegendConfig(labelFont=FONT, titleFont=FONT, orient="bottom"),
            view=alt.ViewConfig(stroke=None),
        ),
    )


def _pickable(chart: alt.Chart, name: str) -> tuple[alt.Chart, alt.Parameter]:
    sel = alt.selection_point(name=PICK, fields=PICK_FIELDS[name], on="click")
    return chart.add_params(sel), sel


def for_file(chart: alt.TopLevelMixin, width: int = FILE_WIDTH) -> alt.TopLevelMixin:
    """The chart with a fixed width, for vl-convert (PNG, SVG): a file has no container."""
    return chart.properties(width=width)


# ---------------------------------------------------------------------------------------------
# Time axes


def bucket_label(bucket: date, granularity: str) -> str:
    """How a bucket is named on a band axis and in tooltips: 2026-03, 2026-03-02 (a Monday's
    week) or 2026-03-02."""
    return bucket.strftime("%Y-%m") if granularity == "month" else bucket.isoformat()


def calendar_ticks(buckets: list[date], granularity: str) -> list[date]:
    """Tick days for a time axis over ``buckets``: month starts (every 1, 2, 3, 6 or 12 months,
    on calendar quarters and halves), Mondays (every 1, 2, 4… weeks) or, for a few days, every
    day; at most ``MAX_TICKS``, always days that begin a bucket."""
    if not buckets:
        return []
    if granularity == "month":
        for step in (1, 2, 3, 6, 12):
            ticks = [b for b in buckets if (b.month - 1) % step == 0]
            if len(ticks) <= MAX_TICKS:
                return ticks or buckets[:1]
        return [b for b in buckets if b.month == 1]
    if granularity == "day" and len(buckets) <= MAX_TICKS:
        return list(buckets)
    mondays = [b for b in buckets if b.weekday() == 0] or buckets[:1]
    step = 1
    while len(mondays[::step]) > MAX_TICKS:
        step *= 2
    return mondays[::step]


def _utc(day: date) -> alt.DateTime:
    return alt.DateTime(year=day.year, month=day.month, date=day.day, utc=True)


def _time_x(buckets: list[date], granularity: str, title: str) -> alt.X:
    """The x channel of a trend: UTC days, ticks from ``calendar_ticks``, and a domain that
    holds a single bucket in its middle rather than at an edge."""
    ticks = calendar_ticks(buckets, granularity)
    same_year = len({b.year for b in buckets}) <= 1
    fmt = "%Y-%m" if granularity == "month" else ("%m-%d" if same_year else "%Y-%m-%d")
    scale = alt.Scale(type="utc", padding=14)
    if len(buckets) == 1:
        one = buckets[0]
        half = pd.Timedelta(days=15 if granularity == "month" else 3)
        scale = alt.Scale(
            type="utc",
            domain=[
                _utc((pd.Timestamp(one) - half).date()),
                _utc((pd.Timestamp(one) + half).date()),
            ],
        )
    axis = alt.Axis(
        title=title,
        values=[_utc(t) for t in ticks],
        # UTC on purpose: the labels of UTC midnights, whatever the browser's time zone.
        labelExpr=f"utcFormat(datum.value, '{fmt}')",
        labelOverlap="greedy",
        grid=False,
    )
    return alt.X("期间:T", scale=scale, axis=axis)


def _with_buckets(df: pd.DataFrame, granularity: str) -> pd.DataFrame:
    """The chart's copy of a per-bucket frame: 期间 as the ISO day (read as UTC midnight) and
    its label, without pandas datetimes (serialised without a zone, read as local time)."""
    out = df.drop(columns=["期间"], errors="ignore").copy()
    days = [date.fromisoformat(b) for b in out["bucket"]]
    out["期间"] = [d.isoformat() for d in days]
    out["期间名"] = [bucket_label(d, granularity) for d in days]
    return out


# ---------------------------------------------------------------------------------------------
# The charts


def intent_bar(df: pd.DataFrame, *, subtitle: str = "") -> alt.LayerChart:
    """Volume by intent (columns intent, 询保内容, 数量, 占比), each bar labelled with its count
    and share; clickable."""
    data = df.assign(
        标注=[f"{n:,}（{p:.0%}）" for n, p in zip(df["数量"], df["占比"], strict=True)]
    )
    base = alt.Chart(data).encode(
        x=alt.X("数量:Q", **_count_axis("咨询数量", data["数量"])),
        y=alt.Y("询保内容:N", title="询保内容", sort=INTENT_DOMAIN),
    )
    bars, _ = _pickable(
        base.mark_bar(cursor="pointer").encode(
            color=_intent_color(),
            tooltip=[
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("数量:Q", format=","),
                alt.Tooltip("占比:Q", format=".0%"),
            ],
        ),
        "intent_bar",
    )
    labels = base.mark_text(align="left", dx=4).encode(text="标注:N")
    chart = alt.layer(bars, labels).properties(height=alt.Step(40))
    return _styled(chart, "各类询保内容的咨询数量", subtitle)


def intent_share(df: pd.DataFrame, granularity: str, *, subtitle: str = "") -> alt.Chart:
    """Share of each intent per bucket (columns bucket, intent, 询保内容, 数量, 占比): one
    stacked bar per bucket on a band axis, buckets in order; clickable. A bucket without
    inquiries is an empty band."""
    data = _with_buckets(df, granularity)
    data["intent_order"] = [list(INTENT_LABELS).index(i) for i in data["intent"]]
    order = list(dict.fromkeys(data["期间名"]))
    many = len(order) > 16
    chart = (
        alt.Chart(data)
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X(
                "期间名:O",
                title=f"期间（按{GRANULARITY_LABELS[granularity]}）",
                sort=order,
                axis=alt.Axis(labelOverlap="greedy", labelAngle=-45 if many else 0),
            ),
            y=alt.Y(
                "数量:Q",
                stack="normalize",
                title="占比",
                axis=alt.Axis(format=".0%", values=[0, 0.25, 0.5, 0.75, 1]),
            ),
            color=_intent_color(),
            order=alt.Order("intent_order:Q"),
            tooltip=[
                alt.Tooltip("期间名:N", title="期间"),
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("数量:Q", format=","),
                alt.Tooltip("占比:Q", format=".0%"),
            ],
        )
        .properties(height=280)
    )
    chart, _ = _pickable(chart, "intent_share")
    return _styled(chart, "询保内容占比变化", subtitle)


def trend_chart(df: pd.DataFrame, granularity: str, *, subtitle: str = "") -> alt.LayerChart:
    """Volume per bucket by intent (columns bucket, intent, 询保内容, 数量; every bucket of the
    period, zeros included): a line and a point per bucket, so a period of one bucket still
    shows; the points are clickable."""
    data = _with_buckets(df, granularity)
    label = GRANULARITY_LABELS[granularity]
    days = sorted({date.fromisoformat(b) for b in data["bucket"]})
    base = alt.Chart(data).encode(
        x=_time_x(days, granularity, f"期间（按{label}）"),
        y=alt.Y("数量:Q", **_count_axis("咨询数量", data["数量"])),
        color=_intent_color(),
        tooltip=[
            alt.Tooltip("期间名:N", title="期间"),
            alt.Tooltip("询保内容:N"),
            alt.Tooltip("数量:Q", format=","),
        ],
    )
    lines = base.mark_line(strokeWidth=2)
    points, _ = _pickable(
        base.mark_point(filled=True, size=30 if len(days) > 60 else 60, cursor="pointer"),
        "trend",
    )
    chart = alt.layer(lines, points).properties(height=300)
    return _styled(chart, f"咨询量趋势（按{label}）", subtitle)


def region_bar(
    df: pd.DataFrame, *, title: str, subtitle: str = "", selectable: bool = True
) -> alt.LayerChart:
    """Sorted horizontal bars by region (columns code, 地区, 数量), labelled with their count;
    clickable by region code unless ``selectable`` is False."""
    base = alt.Chart(df).encode(
        x=alt.X("数量:Q", **_count_axis("咨询数量", df["数量"])),
        y=alt.Y("地区:N", title="地区", sort="-x"),
    )
    bars = base.mark_bar(color="#1f77b4", cursor="pointer" if selectable else "default").encode(
        tooltip=[alt.Tooltip("地区:N"), alt.Tooltip("数量:Q", format=",")]
    )
    if selectable:
        bars, _ = _pickable(bars, "region")
    labels = base.mark_text(align="left", dx=4).encode(text=alt.Text("数量:Q", format=","))
    # One fixed step per bar so every region name has room, however many there are.
    return _styled(alt.layer(bars, labels).properties(height=alt.Step(24)), title, subtitle)


def status_mix_chart(df: pd.DataFrame, *, subtitle: str = "") -> alt.Chart:
    """Submitted vs completed per intent (columns intent, status, 询保内容, 状态, 数量);
    clickable."""
    totals = df.groupby("询保内容")["数量"].sum() if len(df) else df["数量"]
    chart = (
        alt.Chart(df)
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X("数量:Q", stack="zero", **_count_axis("咨询数量", totals)),
            y=alt.Y("询保内容:N", title="询保内容", sort=INTENT_DOMAIN),
            color=alt.Color("状态:N", scale=STATUS_SCALE, legend=alt.Legend(title="申请状态")),
            tooltip=[
                alt.Tooltip("询保内容:N"),
                alt.Tooltip("状态:N"),
                alt.Tooltip("数量:Q", format=","),
            ],
        )
        .properties(height=alt.Step(40))
    )
    chart, _ = _pickable(chart, "status_mix")
    return _styled(chart, "各类询保内容的处理状态", subtitle)


def completion_time_chart(df: pd.DataFrame, *, subtitle: str = "") -> alt.Chart:
    """Histogram of submission → completion time (columns 用时, 数量, 序号); a bar's 序号 is
    the bucket the triage page's 处理用时 filter selects."""
    order = list(df.sort_values("序号")["用时"])
    chart = (
        alt.Chart(df)
        .mark_bar(color="#4c9f70")
        .encode(
            x=alt.X("用时:N", title="提交到完成的用时", sort=order, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("数量:Q", **_count_axis("已完成咨询数量", df["数量"])),
            tooltip=[alt.Tooltip("用时:N"), alt.Tooltip("数量:Q", format=",")],
        )
        .properties(height=260)
    )
    chart, _ = _pickable(chart, "time")
    return _styled(chart, "处理用时分布", subtitle)


def workload_chart(df: pd.DataFrame, *, subtitle: str = "") -> alt.Chart:
    """Open inquiries per person (columns assignee, 负责人, 待处理, 超时), split into overdue
    and not yet overdue, most loaded first; a click on a person opens all their open ones."""
    rows = df[df["待处理"] > 0]
    long = pd.DataFrame(
        [
            (r.assignee, r.负责人, part, i, n, r.待处理, r.超时)
            for r in rows.itertuples(index=False)
            for i, (part, n) in enumerate((("超时", r.超时), ("未超时", r.待处理 - r.超时)))
        ],
        columns=["assignee", "负责人", "部分", "序", "数量", "待处理", "超时"],
    )
    people = list(rows.sort_values("待处理", ascending=False, kind="stable")["负责人"])
    chart = (
        alt.Chart(long)
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X("数量:Q", stack="zero", **_count_axis("待处理咨询数量", rows["待处理"])),
            y=alt.Y("负责人:N", title="负责人", sort=people),
            color=alt.Color("部分:N", scale=WORKLOAD_SCALE, legend=alt.Legend(title="待处理")),
            order=alt.Order("序:Q"),
            tooltip=[
                alt.Tooltip("负责人:N"),
                alt.Tooltip("待处理:Q", format=","),
                alt.Tooltip("超时:Q", format=","),
            ],
        )
        .properties(height=alt.Step(24))
    )
    chart, _ = _pickable(chart, "workload")
    return _styled(chart, "各负责人的待处理咨询", subtitle)
