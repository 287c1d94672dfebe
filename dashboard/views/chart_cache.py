"""Report charts at the view edge: a chart of ``dashboard.charts`` named with its data and
options (``Chart``), whose Vega-Lite spec is cached and whose PNG is made only on download.

Building an altair chart and checking it against the Vega-Lite schema were most of 统计报表's
CPU at every rerun, also when only a widget changed (BENCHMARKS.md, "report page"). Here a spec
is made once per distinct data and options, without the schema check (tests/test_charts.py
checks every chart's spec against the schema), and handed to ``st.vega_lite_chart``.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from dashboard import charts

#: Seconds a cached report section (``views/reports.py``) lives: a completion by staff in
#: another session shows up soon even without a clear.
TTL = 30
#: Seconds a chart spec lives. A spec is a function of its data and options alone (they are its
#: key), so it is never stale; it is dropped only to bound memory (``max_entries`` does too).
#: When a section is read again after its TTL, most of its charts' data is what it was (one
#: completion changes only the charts that count by status), and their specs are reused: building
#: one costs 50-100 ms of altair at 1M rows' periods.
SPEC_TTL = 600


# A resource, not ``st.cache_data``: every write clears all of ``st.cache_data``
# (``common.clear_caches``), and a spec, a function of its key alone, is never stale; a completion
# then cost 统计报表 a rebuild of all its charts. Also, a resource is handed out as is, where
# ``st.cache_data`` unpickles a copy at every hit. ``st.vega_lite_chart`` copies a spec's top level
# before changing it; the one nested change it makes (a null legend title becomes " ") gives the
# same spec at every run.
@st.cache_resource(
    ttl=SPEC_TTL,
    show_spinner=False,
    max_entries=100,
    # A small frame pickles in well under a millisecond; Streamlit's own hash of a frame with
    # text columns converts them first (several ms each, at every rerun).
    hash_funcs={pd.DataFrame: pickle.dumps},
)
def _spec(kind: str, data: pd.DataFrame, **options) -> dict:
    """The Vega-Lite spec of ``charts.<kind>(data, **options)``, made once per distinct data and
    options: see the module's docstring. Its data as frames: Streamlit sends
    each as Arrow, and makes a frame of a list of records far more slowly itself."""
    spec = getattr(charts, kind)(data, **options).to_dict(validate=False)
    spec["datasets"] = {name: pd.DataFrame(rows) for name, rows in spec.get("datasets", {}).items()}
    return spec


@dataclass(frozen=True)
class Chart:
    """A chart of ``dashboard.charts`` by name, its data and options: its spec comes from the
    cache, and its PNG is made only when someone downloads it."""

    kind: str
    data: pd.DataFrame
    options: dict = field(default_factory=dict)

    def spec(self) -> dict:
        return _spec(self.kind, self.data, **self.options)

    def png(self) -> bytes:
        import vl_convert as vlc

        chart = getattr(charts, self.kind)(self.data, **self.options)
        return vlc.vegalite_to_png(charts.for_file(chart).to_json(), scale=2)
