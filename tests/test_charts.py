"""charts: each spec has the right marks, encodings and Chinese titles with the period in the
subtitle; one intent colour scale everywhere; the CJK font is set. Rendered with vl-convert for
every granularity at periods of one bucket, many buckets and none with inquiries: count axes tick
whole numbers only, time axes tick calendar days (month starts, Mondays), a single bucket draws."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard import charts, reports
from dashboard.reports import ReportFilter
from models import INTENT_LABELS

SUBTITLE = "2026-03-01 至 2026-03-31 · 全部询保内容 · 全部省份"
INTENT_DF = pd.DataFrame(
    {
        "intent": list(INTENT_LABELS),
        "询保内容": list(INTENT_LABELS.values()),
        "数量": [3, 1, 0],
        "占比": [0.75, 0.25, 0.0],
    }
)
REGION_DF = pd.DataFrame(
    {"code": ["440000", "320000"], "地区": ["广东省", "<b>江苏省</b>"], "数量": [3, 1]}
)
MIX_DF = pd.DataFrame(
    {
        "intent": ["insure", "insure"],
        "status": ["submitted", "completed"],
        "数量": [1, 2],
        "询保内容": ["我要投保", "我要投保"],
        "状态": ["已提交", "已完成"],
    }
)
TIME_DF = pd.DataFrame({"用时": ["4小时内", "4–24小时"], "数量": [1, 0], "序号": [0, 1]})
WORKLOAD_DF = pd.DataFrame(
    {
        "assignee": ["3", "none", "4"],
        "负责人": ["王经理", "未分配", "小李"],
        "待处理": [5, 2, 0],
        "已完成": [3, 0, 7],
        "完成用时中位数（小时）": [12.0, None, 30.5],
        "超时": [2, 1, 0],
    }
)


def per_bucket(flt: ReportFilter, counts: dict[tuple[str, str], int] | None = None) -> pd.DataFrame:
    """A frame shaped like ``reports.trend`` / ``intent_share_over_time`` for ``flt``: every
    bucket, every intent, the given counts (else 0), shares by largest remainder."""
    counts = counts or {}
    rows = []
    for bucket in reports.buckets(flt):
        ns = [counts.get((bucket.isoformat(), i), 0) for i in INTENT_LABELS]
        for (code, label), n, share in zip(
            INTENT_LABELS.items(), ns, reports.shares_of(ns), strict=True
        ):
            rows.append((pd.Timestamp(bucket), bucket.isoformat(), code, n, label, share))
    return pd.DataFrame(rows, columns=["期间", "bucket", "intent", "数量", "询保内容", "占比"])


MARCH = ReportFilter(date(2026, 3, 1), date(2026, 3, 31), granularity="week")
TREND_DF = per_bucket(MARCH, {("2026-03-02", "insure"): 2, ("2026-03-09", "buyer_credit"): 1})

INTENT_CHARTS = {
    "intent_bar": lambda: charts.intent_bar(INTENT_DF, subtitle=SUBTITLE),
    "intent_share": lambda: charts.intent_share(TREND_DF, "week", subtitle=SUBTITLE),
    "trend": lambda: charts.trend_chart(TREND_DF, "week", subtitle=SUBTITLE),
}
ALL_CHARTS = {
    **INTENT_CHARTS,
    "region": lambda: charts.region_bar(REGION_DF, title="各省份咨询数量", subtitle=SUBTITLE),
    "status_mix": lambda: charts.status_mix_chart(MIX_DF, subtitle=SUBTITLE),
    "time": lambda: charts.completion_time_chart(TIME_DF, subtitle=SUBTITLE),
    "workload": lambda: charts.workload_chart(WORKLOAD_DF, subtitle=SUBTITLE),
}


def spec(chart) -> dict:
    return json.loads(chart.to_json())


def layers(s: dict) -> list[dict]:
    """The unit specs of a chart (itself, or its layers)."""
    return s.get("layer", [s])


def encoding(s: dict, channel: str) -> dict:
    return next(u["encoding"][channel] for u in layers(s) if channel in u.get("encoding", {}))


def marks(s: dict) -> list[str]:
    return [u["mark"]["type"] if isinstance(u["mark"], dict) else u["mark"] for u in layers(s)]


@pytest.mark.parametrize("name", list(INTENT_CHARTS))
def test_every_intent_chart_uses_the_same_colour_scale_with_a_legend(name):
    color = encoding(spec(INTENT_CHARTS[name]()), "color")
    assert color["field"] == "询保内容"
    assert color["scale"] == {"domain": charts.INTENT_DOMAIN, "range": charts.INTENT_RANGE}
    assert color["legend"]["title"] == "询保内容"
    assert charts.INTENT_DOMAIN == ["我要投保", "我要调查买方资信", "我有其他需求"]


@pytest.mark.parametrize("name", list(ALL_CHARTS))
def test_every_chart_sets_a_chinese_font_a_chinese_title_and_the_period(name):
    s = spec(ALL_CHARTS[name]())
    assert s["config"]["font"] == charts.FONT
    assert "WenQuanYi Zen Hei" in charts.FONT
    assert s["config"]["axis"]["labelFont"] == charts.FONT
    assert any("\u4e00" <= ch <= "\u9fff" for ch in s["title"]["text"])
    assert s["title"]["subtitle"] == SUBTITLE
    assert encoding(s, "tooltip")


@pytest.mark.parametrize(
    ("name", "mark", "x", "y"),
    [
        ("intent_bar", "bar", "数量", "询保内容"),
        ("intent_share", "bar", "期间名", "数量"),
        ("trend", "line", "期间", "数量"),
        ("region", "bar", "数量", "地区"),
        ("status_mix", "bar", "数量", "询保内容"),
        ("time", "bar", "用时", "数量"),
        ("workload", "bar", "数量", "负责人"),
    ],
)
def test_marks_and_axes(name, mark, x, y):
    s = spec(ALL_CHARTS[name]())
    assert marks(s)[0] == mark
    assert encoding(s, "x")["field"] == x
    assert encoding(s, "y")["field"] == y
    for channel in ("x", "y"):
        assert encoding(s, channel).get("title") or encoding(s, channel)["axis"]["title"]


def test_shares_over_time_are_bars_on_a_band_axis_in_bucket_order():
    s = spec(INTENT_CHARTS["intent_share"]())
    x = encoding(s, "x")
    assert x["type"] == "ordinal"
    assert x["sort"] == [b.isoformat() for b in reports.buckets(MARCH)]
    assert encoding(s, "y")["stack"] == "normalize"


def test_the_trend_draws_lines_and_points_unstacked_on_a_utc_time_axis():
    s = spec(INTENT_CHARTS["trend"]())
    assert marks(s) == ["line", "point"]
    x = encoding(s, "x")
    assert x["type"] == "temporal" and x["scale"]["type"] == "utc"
    assert "stack" not in encoding(s, "y")
    # Buckets go to the browser as ISO days (read as UTC midnight), not as pandas datetimes.
    assert set(s["datasets"][s["data"]["name"]][0]) >= {"期间", "bucket"}
    assert next(iter(s["datasets"].values()))[0]["期间"] == "2026-02-23"


@pytest.mark.parametrize(
    ("name", "fields"),
    [(name, fields) for name, fields in charts.PICK_FIELDS.items()],
)
def test_clickable_charts_select_the_fields_that_name_a_mark(name, fields):
    s = spec(ALL_CHARTS["region" if name == "region" else name]())
    params = [p for u in [s, *layers(s)] for p in u.get("params", [])]
    pick = next(p for p in params if p["name"] == charts.PICK)
    assert pick["select"]["fields"] == fields
    assert pick["select"]["on"] == "click"


def test_a_region_chart_can_be_drawn_without_clicks():
    city = spec(charts.region_bar(REGION_DF, title="城市", selectable=False))
    assert not [p for u in [city, *layers(city)] for p in u.get("params", [])]


def test_completion_buckets_keep_their_order():
    assert encoding(spec(ALL_CHARTS["time"]()), "x")["sort"] == ["4小时内", "4–24小时"]


def test_the_workload_chart_shows_people_with_open_inquiries_most_first():
    s = spec(ALL_CHARTS["workload"]())
    assert encoding(s, "y")["sort"] == ["王经理", "未分配"]
    rows = next(iter(s["datasets"].values()))
    assert {(r["负责人"], r["部分"], r["数量"]) for r in rows} == {
        ("王经理", "超时", 2),
        ("王经理", "未超时", 3),
        ("未分配", "超时", 1),
        ("未分配", "未超时", 1),
    }


# ---------------------------------------------------------------------------------------------
# Calendar ticks


def test_month_ticks_fall_on_month_starts_and_quarters_for_long_periods():
    year = ReportFilter(date(2025, 12, 1), date(2026, 11, 30), granularity="month")
    ticks = charts.calendar_ticks(reports.buckets(year), "month")
    assert len(ticks) <= charts.MAX_TICKS
    assert all(t.day == 1 for t in ticks)
    assert [t.month for t in ticks] == [1, 3, 5, 7, 9, 11]
    three = ReportFilter(date(2020, 1, 1), date(2026, 11, 30), granularity="month")
    ticks = charts.calendar_ticks(reports.buckets(three), "month")
    assert all(t.day == 1 and t.month == 1 for t in ticks) and len(ticks) <= charts.MAX_TICKS


@pytest.mark.parametrize("granularity", ["day", "week"])
@pytest.mark.parametrize("days", [1, 5, 10, 30, 120, 400])
def test_day_and_week_ticks_fall_on_mondays_or_every_day_of_a_short_period(granularity, days):
    flt = ReportFilter(
        date(2026, 3, 4), date(2026, 3, 4) + timedelta(days=days - 1), (), None, granularity
    )
    buckets = reports.buckets(flt)
    ticks = charts.calendar_ticks(buckets, granularity)
    assert 1 <= len(ticks) <= charts.MAX_TICKS
    assert set(ticks) <= set(buckets)
    if granularity == "week" or len(buckets) > charts.MAX_TICKS:
        assert all(t.weekday() == 0 for t in ticks) or ticks == buckets[:1]


# ---------------------------------------------------------------------------------------------
# Rendered: every granularity, one bucket, many buckets, an empty period

SVG = "{http://www.w3.org/2000/svg}"


def axis_labels(svg: str, axis: str) -> list[str]:
    """The tick labels of the chart's X or Y axis, from vl-convert's SVG."""
    out = []
    for g in ET.fromstring(svg).iter(SVG + "g"):
        if "role-axis" in (g.get("class") or "").split() and (g.get("aria-label") or "").startswith(
            axis + "-axis"
        ):
            for group in g.iter(SVG + "g"):
                if "role-axis-label" in (group.get("class") or "").split():
                    out += [t.text or "" for t in group.iter(SVG + "text")]
    return out


def render(chart) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(charts.for_file(chart).to_json())


def mark_count(svg: str, kind: str) -> int:
    """How many drawn marks of a kind (``symbol``, ``line``, ``rect``) hold data items."""
    root = ET.fromstring(svg)
    n = 0
    for g in root.iter(SVG + "g"):
        cls = (g.get("class") or "").split()
        if f"mark-{kind}" in cls and "role-mark" in cls:
            n += len(list(g))
    return n


PERIODS = {
    # name: (filter, counts of some buckets)
    "one day": (ReportFilter(date(2026, 3, 4), date(2026, 3, 4), granularity="day"), 1),
    "one week": (ReportFilter(date(2026, 3, 2), date(2026, 3, 8), granularity="week"), 1),
    "part of a week": (ReportFilter(date(2026, 3, 4), date(2026, 3, 5), granularity="week"), 1),
    "one month": (ReportFilter(date(2026, 3, 1), date(2026, 3, 31), granularity="month"), 1),
    "first days of a month": (
        ReportFilter(date(2026, 3, 1), date(2026, 3, 2), granularity="month"),
        1,
    ),
    "30 days": (ReportFilter(date(2026, 2, 17), date(2026, 3, 18), granularity="day"), 30),
    "335 days": (ReportFilter(date(2025, 4, 18), date(2026, 3, 18), granularity="day"), 335),
    "half a year by weeks": (
        ReportFilter(date(2025, 9, 18), date(2026, 3, 18), granularity="week"),
        27,
    ),
    "12 months": (ReportFilter(date(2025, 4, 1), date(2026, 3, 18), granularity="month"), 12),
}


@pytest.mark.parametrize("empty", [False, True], ids=["with data", "empty"])
@pytest.mark.parametrize("period", list(PERIODS))
def test_trend_and_share_render_at_every_period_with_whole_counts_and_every_bucket(period, empty):
    flt, n_buckets = PERIODS[period]
    buckets = reports.buckets(flt)
    assert len(buckets) == n_buckets
    counts = (
        {} if empty else {(b.isoformat(), "insure"): 1 + i % 7 for i, b in enumerate(buckets[::3])}
    )
    df = per_bucket(flt, counts)
    assert len(df) == n_buckets * len(INTENT_LABELS)

    svg = render(charts.trend_chart(df, flt.granularity, subtitle=SUBTITLE))
    counts_axis = axis_labels(svg, "Y")
    assert counts_axis and all(label.replace(",", "").isdigit() for label in counts_axis)
    assert counts_axis[0] == "0" and int(counts_axis[-1].replace(",", "")) >= 1
    # One point per bucket and intent, zeros included: a single bucket still draws.
    assert mark_count(svg, "symbol") == n_buckets * len(INTENT_LABELS)
    time_axis = axis_labels(svg, "X")
    assert 1 <= len(time_axis) <= charts.MAX_TICKS

    svg = render(charts.intent_share(df, flt.granularity, subtitle=SUBTITLE))
    assert axis_labels(svg, "Y") == ["0%", "25%", "50%", "75%", "100%"]
    assert len(axis_labels(svg, "X")) >= 1


@pytest.mark.parametrize(
    ("granularity", "first", "last", "expected"),
    [
        ("month", date(2025, 4, 1), date(2026, 3, 18), "2025-05"),
        ("week", date(2026, 1, 5), date(2026, 3, 18), "01-05"),
        ("week", date(2025, 12, 1), date(2026, 3, 18), "2026-01-12"),  # two years: with the year
        ("day", date(2026, 2, 17), date(2026, 3, 18), "02-23"),
    ],
)
def test_time_axis_labels_are_calendar_days(granularity, first, last, expected):
    flt = ReportFilter(first, last, granularity=granularity)
    svg = render(charts.trend_chart(per_bucket(flt), granularity, subtitle=SUBTITLE))
    labels = axis_labels(svg, "X")
    assert expected in labels
    if granularity == "month":
        assert all(len(label) == 7 for label in labels)  # 2025-05: month starts only
    else:
        for label in labels:  # Mondays only
            day = date.fromisoformat(label if len(label) == 10 else f"2026-{label}")
            assert day.weekday() == 0


@pytest.mark.parametrize("name", [n for n in ALL_CHARTS if n not in INTENT_CHARTS] + ["intent_bar"])
def test_count_axes_of_bar_charts_tick_whole_numbers(name):
    svg = render(ALL_CHARTS[name]())
    axis = "Y" if name == "time" else "X"
    labels = axis_labels(svg, axis)
    assert labels and all(label.replace(",", "").isdigit() for label in labels)


def test_all_zero_bars_still_tick_zero_and_one():
    zero = INTENT_DF.assign(数量=0, 占比=0.0)
    assert axis_labels(render(charts.intent_bar(zero)), "X") == ["0", "1"]


def test_a_chart_renders_to_png_offline_with_its_title():
    import vl_convert as vlc

    png = vlc.vegalite_to_png(charts.for_file(ALL_CHARTS["region"]()).to_json(), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = render(ALL_CHARTS["region"]())
    assert "各省份咨询数量" in svg and SUBTITLE in svg
