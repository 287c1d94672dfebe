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
        assert r["rows_exported"] > 0 and r["traced_peak_mb"] > 0 and r["file_mb"] > 0
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
