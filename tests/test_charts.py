"""charts: each spec has the right marks, encodings and Chinese titles; one intent colour scale
everywhere; the CJK font is set."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard import charts

INTENT_DF = pd.DataFrame(
    {
        "intent": ["insure", "other"],
        "询保内容": ["我要投保", "我有其他需求"],
        "数量": [3, 1],
        "占比": [0.75, 0.25],
    }
)
TREND_DF = pd.DataFrame(
    {
        "期间": pd.to_datetime(["2026-03-02", "2026-03-09"]),
        "intent": ["insure", "buyer_credit"],
        "询保内容": ["我要投保", "我要调查买方资信"],
        "数量": [2, 1],
        "占比": [1.0, 1.0],
    }
)
REGION_DF = pd.DataFrame(
    {"code": ["440000", "320000"], "地区": ["广东省", "<b>江苏省</b>"], "数量": [3, 1]}
)
MIX_DF = pd.DataFrame(
    {
        "intent": ["insure"],
        "status": ["completed"],
        "数量": [2],
        "询保内容": ["我要投保"],
        "状态": ["已完成"],
    }
)
TIME_DF = pd.DataFrame({"用时": ["4小时内", "4–24小时"], "数量": [1, 0], "序号": [0, 1]})

INTENT_CHARTS = {
    "intent_bar": lambda: charts.intent_bar(INTENT_DF),
    "intent_share": lambda: charts.intent_share(TREND_DF),
    "trend": lambda: charts.trend_chart(TREND_DF, "周"),
}
ALL_CHARTS = {
    **INTENT_CHARTS,
    "region": lambda: charts.region_bar(REGION_DF, title="各省份咨询数量", selectable=True),
    "mix": lambda: charts.status_mix_chart(MIX_DF),
    "time": lambda: charts.completion_time_chart(TIME_DF),
}


def spec(chart) -> dict:
    return json.loads(chart.to_json())


@pytest.mark.parametrize("name", list(INTENT_CHARTS))
def test_every_intent_chart_uses_the_same_colour_scale_with_a_legend(name):
    color = spec(INTENT_CHARTS[name]())["encoding"]["color"]
    assert color["field"] == "询保内容"
    assert color["scale"] == {"domain": charts.INTENT_DOMAIN, "range": charts.INTENT_RANGE}
    assert color["legend"]["title"] == "询保内容"
    assert charts.INTENT_DOMAIN == ["我要投保", "我要调查买方资信", "我有其他需求"]


@pytest.mark.parametrize("name", list(ALL_CHARTS))
def test_every_chart_sets_a_chinese_font_and_a_chinese_title(name):
    s = spec(ALL_CHARTS[name]())
    assert s["config"]["font"] == charts.FONT
    assert "WenQuanYi Zen Hei" in charts.FONT
    assert s["config"]["axis"]["labelFont"] == charts.FONT
    assert any("\u4e00" <= ch <= "\u9fff" for ch in s["title"])
    assert s["encoding"]["tooltip"]


@pytest.mark.parametrize(
    ("name", "mark", "x", "y"),
    [
        ("intent_bar", "bar", "数量", "询保内容"),
        ("intent_share", "bar", "期间", "数量"),
        ("trend", "area", "期间", "数量"),
        ("region", "bar", "数量", "地区"),
        ("mix", "bar", "数量", "询保内容"),
        ("time", "bar", "用时", "数量"),
    ],
)
def test_marks_and_axes(name, mark, x, y):
    s = spec(ALL_CHARTS[name]())
    assert s["mark"]["type"] == mark
    assert s["encoding"]["x"]["field"] == x
    assert s["encoding"]["y"]["field"] == y
    assert s["encoding"]["x"]["title"] and s["encoding"]["y"]["title"]


def test_intent_share_is_normalised_and_trend_is_stacked():
    assert spec(INTENT_CHARTS["intent_share"]())["encoding"]["y"]["stack"] == "normalize"
    assert spec(INTENT_CHARTS["trend"]())["encoding"]["y"]["stack"] == "zero"


def test_province_bar_is_sorted_and_selectable_by_code():
    s = spec(ALL_CHARTS["region"]())
    assert s["encoding"]["y"]["sort"] == "-x"
    param = s["params"][0]
    assert param["name"] == charts.PROVINCE_SELECTION
    assert param["select"]["fields"] == ["code"]
    city = spec(charts.region_bar(REGION_DF, title="城市", selectable=False))
    assert "params" not in city


def test_completion_buckets_keep_their_order():
    assert spec(ALL_CHARTS["time"]())["encoding"]["x"]["sort"] == ["4小时内", "4–24小时"]


def test_a_chart_renders_to_png_offline():
    import vl_convert as vlc

    png = vlc.vegalite_to_png(ALL_CHARTS["region"]().to_json(), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
