"""The benchmark harness runs end to end on a small database and the project agrees with the floor.

No wall-clock assertions: timings only have to exist and be positive.
"""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from bench.run import Options, run, table
from tests.conftest import TEST_DATABASE_URL

TIMED_GROUPS = {"triage", "search", "write", "report", "export"}


def _run(tmp_path, backend: str, **extra) -> list[dict]:
    out = tmp_path / "results.json"
    opts = Options(
        rows=2000,
        backend=backend,
        json_path=out,
        repeat=2,
        min_seconds=0,
        directory=tmp_path,
        quiet=True,
        **extra,
    )
    run(opts)
    return json.loads(out.read_text())


def _check(results: list[dict], backend: str) -> None:
    by_op = {r["op"]: r for r in results}
    expected = {
        "seed",
        "app_rss_mb",
        "naive_pandas_triage_default",
        "triage_default",
        "triage_filtered",
        "search_company_fragment",
        "search_exact_mobile",
        "search_exact_serial",
        "detail",
        "complete_one",
        "bulk_complete_100",
        "export_csv",
        "report_overview_12m",
        "report_volume_by_region_all",
        "report_trend_all",
        "report_completion_time_12m",
    }
    assert expected <= set(by_op), expected - set(by_op)
    for r in results:
        assert r["rows"] == 2000 and r["backend"] == backend
        assert set(r) >= {"op", "rows", "backend", "project_ms", "floor_ms", "ratio"}
        if r.get("group") in TIMED_GROUPS or r["op"] == "naive_pandas_triage_default":
            assert r["project_ms"] > 0 and r["floor_ms"] > 0 and r["ratio"] > 0, r
            assert r["answers_match"] is True, r
    assert by_op["seed"]["rows_per_s"] > 0 and by_op["seed"]["reused"] is False
    assert by_op["app_rss_mb"]["rss_mb"] > 0
    exports = [r for r in results if r.get("group") == "export"]
    for r in exports:
        assert r["rows_exported"] > 0 and r["traced_peak_mb"] > 0 and r["file_mb"] >= 0
    md = table(results)
    assert all(f"| {op} |" in md for op in by_op)


def test_harness_times_every_operation_on_sqlite_and_agrees_with_the_floor(tmp_path):
    results = _run(tmp_path, "sqlite")
    _check(results, "sqlite")
    assert (tmp_path / "bench-2000.db").exists()


def test_harness_reuses_a_database_of_the_same_size(tmp_path):
    first = _run(tmp_path, "sqlite", app_memory=False, naive=False)
    second = _run(tmp_path, "sqlite", app_memory=False, naive=False)
    seed_first = next(r for r in first if r["op"] == "seed")
    seed_second = next(r for r in second if r["op"] == "seed")
    assert seed_first["reused"] is False and seed_second["reused"] is True
    assert seed_second["rows_per_s"] == seed_first["rows_per_s"]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
def test_harness_times_every_operation_on_postgres_and_agrees_with_the_floor(tmp_path):
    schema = f"bench_test_{uuid.uuid4().hex[:8]}"
    try:
        results = _run(tmp_path, "postgres", pg_url=TEST_DATABASE_URL, schema=schema)
        _check(results, "postgres")
    finally:
        admin = sa.create_engine(TEST_DATABASE_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_seeder_runs_simple_insert_triggers_set_based_with_the_same_result(tmp_path):
    """The bulk load replaces a row-by-row FTS trigger by one INSERT … SELECT per chunk; the
    index must end up exactly as the trigger would have made it, and the trigger must be back."""
    from dashboard import db, seed

    engine = db.create_engine(f"sqlite:///{tmp_path / 'trg.db'}")
    db.migrate(engine)
    with engine.begin() as c:
        c.exec_driver_sql(
            "CREATE VIRTUAL TABLE t_fts USING fts5(company_name, mobile, content='inquiry', "
            "content_rowid='id', tokenize='trigram')"
        )
        c.exec_driver_sql(
            "CREATE TRIGGER t_fts_ai AFTER INSERT ON inquiry BEGIN INSERT INTO t_fts(rowid, "
            "company_name, mobile) VALUES (new.id, new.company_name, new.mobile); END"
        )

    def triggers():
        with engine.connect() as c:
            rows = c.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            return sorted(rows)

    def automerge():  # the bulk load merges FTS segments lazily, then puts the setting back
        with engine.connect() as c:
            return [
                c.exec_driver_sql(f"SELECT v FROM {t}_config WHERE k = 'automerge'").scalar()
                for t in ("t_fts", "inquiry_fts")
            ]

    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO t_fts(t_fts, rank) VALUES ('automerge', 2)")
    before = triggers()
    assert "t_fts_ai" in {name for name, _ in before}
    seed.seed(engine, rows=1500, seed=5)
    assert automerge() == [2, seed.FTS5_DEFAULT_AUTOMERGE]
    seed.seed(engine, rows=300, seed=6)  # not a bulk load any more: the trigger fires itself
    with engine.connect() as c:
        c.exec_driver_sql("INSERT INTO t_fts(t_fts) VALUES ('integrity-check')")
        name = c.exec_driver_sql("SELECT company_name FROM inquiry WHERE id = 1700").scalar()
        fragment = name[1:4]
        via_fts = c.exec_driver_sql(
            "SELECT rowid FROM t_fts WHERE t_fts MATCH ? ORDER BY rowid", (f'"{fragment}"',)
        ).all()
        via_like = c.exec_driver_sql(
            "SELECT id FROM inquiry WHERE company_name LIKE ? OR mobile LIKE ? ORDER BY id",
            (f"%{fragment}%", f"%{fragment}%"),
        ).all()
    assert via_fts == via_like and len(via_fts) >= 1
    assert triggers() == before
    engine.dispose()


def test_project_and_floor_are_timed_in_turn_until_each_has_run_long_enough():
    from bench import timing

    calls: list[str] = []

    def side(name):
        def run(value):
            calls.append(name)
            return (name, value)

        return run

    made = iter(range(1000))
    p_ms, p_answer, f_ms, f_answer = timing.paired_median_ms(
        side("p"), side("f"), repeat=3, min_seconds=0, floor_arg=lambda: next(made)
    )
    assert calls == ["p", "f"] + ["p", "f"] * 3  # one warm-up each, then alternating
    assert p_answer == ("p", None) and f_answer == ("f", 3)  # each floor run got a fresh arg
    assert p_ms >= 0 and f_ms >= 0
    calls.clear()
    timing.paired_median_ms(side("p"), side("f"), repeat=1, min_seconds=3600, max_runs=7)
    assert calls.count("p") == calls.count("f") == 1 + 7  # capped: never waits an hour


def test_the_command_line_hands_only_the_runs_options_to_it(monkeypatch, tmp_path):
    # The browser options (--users, --browser-nice …) are not the domain run's: a new one once
    # broke `python -m bench --rows N` with a TypeError.
    import bench.__main__ as cli

    seen = []
    monkeypatch.setattr(cli, "run", lambda opts: seen.append(opts) or [])
    monkeypatch.setattr(cli, "table", lambda results: "")
    assert cli.main(["--rows", "1000", "--dir", str(tmp_path), "--no-naive"]) == 0
    (opts,) = seen
    assert isinstance(opts, Options)
    assert opts.rows == 1000 and opts.repeat == 5 and opts.naive is False
