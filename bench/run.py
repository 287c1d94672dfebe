"""The run: prepare the database, time every op against its floor, measure memory, report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import database, ops, timing
from dashboard.settings import ROOT


@dataclass
class Options:
    rows: int
    backend: str = "sqlite"
    json_path: Path | None = None
    repeat: int = 5  # at least this many timed runs per op…
    min_seconds: float = 0.25  # …and until each side has run this long (at most 400 runs)
    pg_url: str = database.DEFAULT_PG_URL
    fresh: bool = False
    directory: Path | None = None
    schema: str | None = None  # PostgreSQL schema; bench_N by default
    app_memory: bool = True
    naive: bool = True
    quiet: bool = False


def _result(opts: Options, op: str, **fields: Any) -> dict:
    out = {
        "op": op,
        "rows": opts.rows,
        "backend": opts.backend,
        "project_ms": None,
        "floor_ms": None,
        "ratio": None,
    }
    out.update(fields)
    return out


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def time_op(opts: Options, op: ops.Op, log) -> dict:
    project_arg = (lambda: op.arg("project")) if op.arg else None
    floor_arg = (lambda: op.arg("floor")) if op.arg else None
    project_ms, project_answer, floor_ms, floor_answer = timing.paired_median_ms(
        op.project,
        op.floor,
        repeat=opts.repeat,
        project_arg=project_arg,
        floor_arg=floor_arg,
        min_seconds=opts.min_seconds,
    )
    matches = op.compare(project_answer, floor_answer)
    ratio = project_ms / floor_ms if floor_ms > 0 else None
    meets = (op.target_ms is None or project_ms <= op.target_ms) and (
        op.max_ratio is None or ratio is None or ratio <= op.max_ratio
    )
    if not matches:
        log(
            f"  ! {op.name}: project and floor disagree:\n    {project_answer!r}\n    {floor_answer!r}"
        )
    return _result(
        opts,
        op.name,
        group=op.group,
        project_ms=_round(project_ms),
        floor_ms=_round(floor_ms),
        ratio=_round(ratio),
        target_ms=op.target_ms,
        max_ratio=op.max_ratio,
        answers_match=matches,
        meets_target=meets,
        note=op.note,
    )


def export_result(opts: Options, ctx: ops.Context, op: ops.Op, log) -> dict:
    """Time the export like the other ops, then measure its peak memory on separate runs."""
    result = time_op(opts, op, log)
    with ops.export_path() as path:
        with timing.PeakRSS() as rss:
            op.project(path)
        traced = timing.traced_peak_mb(lambda: op.project(path))
        size_mb = Path(path).stat().st_size / timing.MB
    result.update(
        rows_exported=ctx.export_rows,
        rss_growth_mb=round(rss.growth_mb, 1),
        traced_peak_mb=round(traced, 1),
        file_mb=round(size_mb, 1),
        memory_target_mb=100,
    )
    result["meets_target"] = bool(result["meets_target"]) and max(rss.growth_mb, traced) < 100
    return result


def naive_result(opts: Options, ctx: ops.Context, floor_ms: float | None, log) -> dict:
    """Read the whole table into pandas, then filter: once, for contrast."""
    import pandas  # noqa: F401  (imported before timing: the app has it loaded already)

    with timing.PeakRSS() as rss:
        started = time.perf_counter()
        answer = ops.naive_pandas(ctx)
        ms = (time.perf_counter() - started) * 1000
    floor_answer = ops._list_floor(ctx, "status = 'submitted'", {}, ops.NEWEST)
    return _result(
        opts,
        "naive_pandas_triage_default",
        group="contrast",
        project_ms=round(ms, 1),
        floor_ms=floor_ms,
        ratio=_round(ms / floor_ms) if floor_ms else None,
        answers_match=answer == floor_answer,
        rss_growth_mb=round(rss.growth_mb, 1),
        meets_target=None,
        note="whole table read into pandas, then filtered and sorted (run once)",
    )


def app_memory(opts: Options, url: str, log) -> dict:
    """Peak RSS of a process that rendered the triage and reports pages once (AppTest)."""
    env = dict(os.environ, DATABASE_URL=url, DASHBOARD_DEMO="0")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.app_memory"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        log(f"  ! app memory run failed:\n{proc.stderr[-2000:]}")
        return _result(opts, "app_rss_mb", group="memory", rss_mb=None, meets_target=False)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return _result(
        opts,
        "app_rss_mb",
        group="memory",
        rss_mb=data["rss_mb"],
        project_ms=data["render_ms"],
        pages=data["pages"],
        target_mb=300,
        meets_target=data["rss_mb"] < 300,
        note="peak RSS of an AppTest process logged in as manager, triage + reports rendered",
    )


def seed_result(opts: Options, info: dict) -> dict:
    return _result(
        opts,
        "seed",
        group="seed",
        rows_per_s=info.get("rows_per_s"),
        project_ms=round(info["seconds"] * 1000) if info.get("seconds") else None,
        seconds=info.get("seconds"),
        reused=info.get("reused", False),
        seeded_at=info.get("at"),
        command=info.get("command"),
        target_ms=60_000 if opts.rows >= 1_000_000 else None,
        meets_target=(info.get("seconds") or 0) < 60 * max(1, opts.rows / 1_000_000),
    )


def run(opts: Options) -> list[dict]:
    log = (lambda *a, **k: None) if opts.quiet else (lambda *a, **k: print(*a, **k, flush=True))
    bdb = database.prepare_for(opts, log)
    results = [seed_result(opts, bdb.seed_info)]
    ctx = ops.Context(bdb.engine, opts.rows)
    reads = ops.read_ops(ctx)
    for op in reads:
        log(f"  {op.name} …")
        results.append(time_op(opts, op, log))
    triage_floor = next(r["floor_ms"] for r in results if r["op"] == "triage_default")
    for op in ops.export_ops(ctx):
        log(f"  {op.name} …")
        results.append(export_result(opts, ctx, op, log))
    if opts.app_memory:
        log("  app memory (AppTest subprocess) …")
        results.append(app_memory(opts, bdb.url, log))
    # Writes after the reads: they change what the reads would see.
    for op in ops.write_ops(ctx):
        log(f"  {op.name} …")
        results.append(time_op(opts, op, log))
    # The naive read last: it leaves this process gigabytes larger.
    if opts.naive:
        log("  naive pandas (once) …")
        results.append(naive_result(opts, ctx, triage_floor, log))
    bdb.engine.dispose()
    if opts.json_path:
        opts.json_path.parent.mkdir(parents=True, exist_ok=True)
        opts.json_path.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return results


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _yes(value: bool | None) -> str:
    return "–" if value is None else "yes" if value else "NO"


def table(results: list[dict]) -> str:
    """A Markdown table of the results (also what BENCHMARKS.md shows)."""
    lines = [
        "| op | project ms | floor ms | ratio | target | meets | answers match | extra |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    for r in results:
        target = []
        if r.get("target_ms"):
            target.append(f"< {r['target_ms']:g} ms")
        if r.get("max_ratio"):
            target.append(f"≤ {r['max_ratio']:g}× floor")
        if r.get("memory_target_mb"):
            target.append(f"< {r['memory_target_mb']} MB")
        if r.get("target_mb"):
            target.append(f"< {r['target_mb']} MB")
        extra = []
        for key in ("rows_per_s", "seconds", "rss_mb", "rows_exported", "rss_growth_mb"):
            if r.get(key) is not None:
                extra.append(f"{key}={_fmt(r[key])}")
        if r.get("traced_peak_mb") is not None:
            extra.append(f"traced_peak_mb={_fmt(r['traced_peak_mb'])}")
        if r.get("reused"):
            extra.append("reused database")
        match = r.get("answers_match")

        lines.append(
            f"| {r['op']} | {_fmt(r['project_ms'])} | {_fmt(r['floor_ms'])} | "
            f"{_fmt(r['ratio'], 2)} | {', '.join(target) or '–'} | "
            f"{_yes(r.get('meets_target'))} | "
            f"{'–' if match is None else 'yes' if match else 'NO'} | {'; '.join(extra)} |"
        )
    return "\n".join(lines)
