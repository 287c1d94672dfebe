"""The pure parts of ``python -m bench --browser``: percentiles, the summary against the issue's
targets, the Markdown table and the report. The browser run itself is not run here (it takes
minutes); ``python -m bench --browser --rows 20000 --repeat 3`` is its smoke test."""

from __future__ import annotations

import pytest

from bench import browser


def test_percentile_interpolates_between_the_closest_ranks():
    values = [float(v) for v in range(1, 11)]  # 1 … 10, given out of order below
    shuffled = values[5:] + values[:5]
    assert browser.percentile(shuffled, 50) == 5.5
    assert browser.percentile(shuffled, 95) == pytest.approx(9.55)
    assert browser.percentile(shuffled, 0) == 1.0
    assert browser.percentile(shuffled, 100) == 10.0
    assert browser.percentile([7.0], 95) == 7.0
    assert browser.percentile([1.0, 3.0], 50) == 2.0


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_refuses_what_is_not_a_percentile(q):
    with pytest.raises(ValueError):
        browser.percentile([1.0], q)
    with pytest.raises(ValueError):
        browser.percentile([], 50)


def test_summary_judges_each_interaction_by_the_issues_targets():
    fast = [100.0] * 9 + [900.0]  # p50 100, p95 between 100 and 900: 540
    samples = {
        "filter": fast,
        "search_fragment": [600.0] * 10,  # p50 over 500 ms
        "login": [1400.0] * 10,  # login → triage: ≤ 1.5 s
        "open_reports": [1600.0] * 10,  # 统计报表: over 1.5 s
        "complete": fast,
    }
    rows = {
        r["key"]: r
        for r in browser.summarize(samples, {"filter": [10.0, 30.0]}, {"complete": 1}, users=1)
    }
    assert list(rows) == list(browser.INTERACTIONS)
    assert rows["filter"]["n"] == 10
    assert rows["filter"]["p50_ms"] == 100 and rows["filter"]["p95_ms"] == 540
    assert rows["filter"]["cpu_ms"] == 20
    assert rows["filter"]["meets"] is True
    assert rows["search_fragment"]["meets"] is False
    assert rows["login"]["meets"] is True
    assert rows["open_reports"]["meets"] is False
    assert rows["complete"]["meets"] is False  # a failure misses the target, however fast
    assert rows["drill"]["n"] == 0 and rows["drill"]["meets"] is None
    assert rows["filter"]["answered_p50_ms"] is None  # no frames timed: no answered time

    many = {r["key"]: r for r in browser.summarize(samples, {}, {}, users=10)}
    assert many["search_fragment"]["meets"] is True  # with 10 users: p95 ≤ 2 s only
    assert many["open_reports"]["meets"] is True
    assert many["filter"]["target"] == "p95 ≤ 2 s"


def test_the_table_and_the_report_show_every_interaction():
    rows = browser.summarize(
        {"login": [1200.0, 1300.0]}, {"login": [800.0, 900.0]}, {}, 1, {"login": [300.0, 500.0]}
    )
    text = browser.table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("| interaction | n | p50 ms | p95 ms |")
    assert lines[0].endswith("| answered p50 / p95 ms |")
    assert len(lines) == 2 + len(browser.INTERACTIONS)
    assert (
        "| 登录 → 咨询处理 (list drawn) | 2 | 1,250 | 1,295 | 1,300 | 850 | ≤ 1.5 s | yes "
        "| 400 / 490 |"
    ) in lines
    assert "| 按地区 bar → 咨询处理 | 0 | – | – | – | – |" in text

    result = {
        "command": "python -m bench --browser --rows 2000 --repeat 2",
        "rows": 2000,
        "backend": "sqlite",
        "users": 1,
        "processes": 1,
        "think_s": 1.0,
        "at": "2026-12-01 10:00 UTC",
        "commit": "abc1234",
        "machine": "2 CPUs",
        "load_before": [1.0, 1.0, 1.0],
        "load_after": [2.0, 1.5, 1.0],
        "wall_s": 60.0,
        "server_cpu_s": 12.0,
        "browser_cpu_s": 20.0,
        "rss_start_mb": [150],
        "rss_end_mb": [210],
        "rss_peak_mb": 230,
        "cpu_note": "server CPU 12.0 s in all",
        "interactions": rows,
        "errors": ["drill: Timeout 60000ms exceeded."],
    }
    report = browser.report(result)
    assert "`python -m bench --browser --rows 2000 --repeat 2`" in report
    assert text in report
    assert "peak 230 MB" in report and "failures: drill: Timeout" in report
    assert "script runs" not in report  # none recorded
    result["script_runs"] = browser._run_summary([100.0, 200.0, 300.0])
    assert "script runs in the app" in browser.report(result)
    assert "3, p50 200 ms, p95 290 ms, max 300 ms." in browser.report(result)


def test_the_command_line_redoes_the_run():
    opts = browser.BrowserOptions(
        rows=200_000, repeat=10, users=25, processes=2, backend="postgres"
    )
    assert browser.command_line(opts) == (
        "python -m bench --browser --rows 200000 --repeat 10 --users 25 --processes 2 "
        "--backend postgres"
    )
    opts.browser_nice = 10
    assert browser.command_line(opts).endswith("--backend postgres --browser-nice 10")


def test_renicing_lowers_the_browsers_and_leaves_the_app_alone():
    import subprocess
    import sys

    import psutil

    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    browser_like, app_like = subprocess.Popen(sleeper), subprocess.Popen(sleeper)
    # Whatever else this test process runs (an e2e app of another test) is left alone too.
    others = {c.pid for c in psutil.Process().children()} - {browser_like.pid}
    try:
        assert browser.renice_browsers(7, exclude=others) == 1
        assert app_like.pid in others
        assert psutil.Process(browser_like.pid).nice() == 7
        assert psutil.Process(app_like.pid).nice() == psutil.Process().nice()
    finally:
        for p in (browser_like, app_like):
            p.kill()
            p.wait()


def test_the_answer_runs_from_the_first_frame_sent_to_the_last_received():
    wire = browser.Wire()
    wire.frames += [("received", 9.0), ("sent", 9.5)]  # before the action
    mark = wire.mark()
    assert wire.answered(mark) is None  # nothing sent yet
    wire.frames += [("sent", 10.0), ("received", 10.1), ("sent", 10.2), ("received", 10.45)]
    assert wire.answered(mark) == pytest.approx(450.0)
    assert wire.answered(len(wire.frames)) is None


def test_each_script_run_is_timed_and_read_back_by_its_time(tmp_path):
    import time

    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    from bench import timed_streamlit

    runs = tmp_path / "app.runs"
    original = script_runner.ScriptRunner._run_script
    began = time.time()
    try:
        timed_streamlit.install(runs)
        app = AppTest.from_string("import time\ntime.sleep(0.05)")
        app.run()
        app.run()
        # AppTest returns when the script has finished, which is inside the timed call: its line
        # is written just after (under CI load, once, after the read below).
        deadline = time.time() + 10
        while time.time() < deadline and (
            not runs.exists() or len(runs.read_text().splitlines()) < 2
        ):
            time.sleep(0.02)
    finally:
        script_runner.ScriptRunner._run_script = original
    timed = timed_streamlit.read(runs, began, time.time())
    assert len(timed) == 2 and all(ms >= 50 for ms in timed)
    assert timed_streamlit.read(runs, 0, began) == []  # outside the window
    assert timed_streamlit.read(tmp_path / "none", 0, time.time()) == []
