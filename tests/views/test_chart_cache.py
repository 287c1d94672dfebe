"""The report page's chart cache: a cached spec is the chart's own (validated) spec with its
data as frames, made once per distinct data; the PNG is the chart's, made on demand."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import streamlit as st

from dashboard import charts
from dashboard.views import chart_cache, common
from dashboard.views.chart_cache import Chart
from tests.test_charts import INTENT_DF, REGION_DF, SUBTITLE, TREND_DF, WORKLOAD_DF

CASES = {
    "intent_bar": (INTENT_DF, {"subtitle": SUBTITLE}),
    "trend_chart": (TREND_DF, {"granularity": "week", "subtitle": SUBTITLE}),
    "region_bar": (REGION_DF, {"title": "各省份咨询数量", "subtitle": SUBTITLE}),
    "workload_chart": (WORKLOAD_DF, {"subtitle": SUBTITLE}),
}


@pytest.fixture(autouse=True)
def _empty_cache():
    st.cache_data.clear()
    chart_cache._spec.clear()


@pytest.mark.parametrize("kind", list(CASES))
def test_a_cached_spec_is_the_charts_validated_spec_with_frames(kind):
    data, options = CASES[kind]
    expected = json.loads(getattr(charts, kind)(data, **options).to_json())  # validated
    got = Chart(kind, data, options).spec()
    frames = got.pop("datasets")
    datasets = expected.pop("datasets")
    assert json.loads(json.dumps(got)) == expected
    assert set(frames) == set(datasets)
    for name, rows in datasets.items():
        assert isinstance(frames[name], pd.DataFrame)
        assert json.loads(frames[name].to_json(orient="records", force_ascii=False)) == rows


def test_a_spec_is_built_once_per_distinct_data(monkeypatch):
    calls = []
    real = charts.intent_bar

    def counting(df, **options):
        calls.append(len(df))
        return real(df, **options)

    monkeypatch.setattr(charts, "intent_bar", counting)
    Chart("intent_bar", INTENT_DF.copy(), {"subtitle": SUBTITLE}).spec()
    Chart("intent_bar", INTENT_DF.copy(), {"subtitle": SUBTITLE}).spec()  # equal, not the same
    assert len(calls) == 1
    other = INTENT_DF.assign(数量=[5, 1, 0])
    spec = Chart("intent_bar", other, {"subtitle": SUBTITLE}).spec()
    assert len(calls) == 2
    (frame,) = spec["datasets"].values()
    assert frame["数量"].tolist() == [5, 1, 0]
    Chart("intent_bar", INTENT_DF, {"subtitle": "另一个期间"}).spec()
    assert len(calls) == 3


def test_a_write_keeps_the_specs_since_they_cannot_be_stale(monkeypatch):
    """Every write clears the cached query results (``common.clear_caches``); a spec is a function
    of its data and options alone, and rebuilding all of 统计报表's after each completion was
    ~110 ms of a period change at 1M rows (BENCHMARKS.md, sixth session)."""
    calls = []
    real = charts.intent_bar
    monkeypatch.setattr(charts, "intent_bar", lambda df, **o: calls.append(1) or real(df, **o))
    first = Chart("intent_bar", INTENT_DF.copy(), {"subtitle": SUBTITLE}).spec()
    common.clear_caches()
    again = Chart("intent_bar", INTENT_DF.copy(), {"subtitle": SUBTITLE}).spec()
    assert len(calls) == 1
    assert again is first  # handed out as is: no copy per run


def test_the_png_is_made_from_the_chart_on_demand():
    png = Chart("region_bar", *CASES["region_bar"]).png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width == 2 * charts.FILE_WIDTH  # scale 2, the file's fixed width
