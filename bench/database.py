"""The benchmark database: a fresh one seeded with the CLI's seeder, or one of that size reused.

SQLite: ``bench/bench-N.db``. PostgreSQL: the schema ``bench_N`` in the given database, reached
with ``search_path = bench_N, public``. ``bench/results/seed-<backend>-N.json`` records how long
the seeding took, so a reused database still reports the seeding it was made with.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from dashboard import db, seed
from dashboard.settings import ROOT

BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class BenchDatabase:
    backend: str
    rows: int
    url: str  # what DATABASE_URL must be for a process (the CLI, the app) to reach it
    engine: Engine
    seed_info: dict  # {"seconds", "rows_per_s", "command", "reused"}


def sqlite_path(rows: int, directory: Path | None = None) -> Path:
    return (directory or BENCH_DIR) / f"bench-{rows}.db"


def schema_name(rows: int) -> str:
    return f"bench_{rows}"


def _quoted(schema: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    return '"' + schema + '"'


def _pg_url(base: str, schema: str) -> str:
    url = make_url(base)
    options = quote(f"-csearch_path={schema},public")
    return url.render_as_string(hide_password=False) + f"?options={options}"


def _seed_meta_path(backend: str, rows: int, directory: Path | None) -> Path:
    return (directory / "results" if directory else RESULTS_DIR) / f"seed-{backend}-{rows}.json"


def _count(engine: Engine) -> int | None:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM inquiry")).scalar_one()
    except sa.exc.DBAPIError:
        return None


def _same_size(count: int | None, rows: int) -> bool:
    """A database seeded with ``rows``; the harness's writes may have added a few inquiries when
    the seeded submitted ones ran out (see ``ops.Context.submitted_ids``)."""
    return count is not None and rows <= count <= rows + max(5000, rows // 50)


def _run_cli_seed(url: str, rows: int, seed_value: int) -> float:
    """``python -m dashboard seed`` in a child process, as a user would run it; wall seconds."""
    env = dict(os.environ, DATABASE_URL=url, DASHBOARD_DEMO="0")
    cmd = [
        sys.executable,
        "-m",
        "dashboard",
        "seed",
        "--rows",
        str(rows),
        "--seed",
        str(seed_value),
    ]
    cmd.append("--quiet")
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def prepare(
    *,
    backend: str,
    rows: int,
    pg_url: str = DEFAULT_PG_URL,
    fresh: bool = False,
    seed_value: int = 2026,
    directory: Path | None = None,
    schema: str | None = None,
    log=print,
) -> BenchDatabase:
    """The database of ``rows`` seeded inquiries on ``backend``: reused when one of that size
    exists (and ``fresh`` is false), otherwise created, migrated and seeded."""
    meta_path = _seed_meta_path(backend, rows, directory)
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = sqlite_path(rows, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        engine = db.create_engine(url)
        reusable = path.exists() and not fresh and _same_size(_count(engine), rows)
        if not reusable:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            engine = db.create_engine(url)
    elif backend == "postgres":
        schema = schema or schema_name(rows)
        url = _pg_url(pg_url, schema)
        admin = sa.create_engine(pg_url)
        with admin.begin() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                {"s": schema},
            ).first()
        engine = db.create_engine(url)
        reusable = bool(exists) and not fresh and _same_size(_count(engine), rows)
        if not reusable:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS " + _quoted(schema) + " CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA " + _quoted(schema)))
            engine = db.create_engine(url)
        admin.dispose()
    else:
        raise ValueError(f"unknown backend {backend!r}")

    db.migrate(engine)  # a reused database gets any migration added since it was seeded
    if reusable:
        info = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        info["reused"] = True
        log(f"reusing {rows:,} inquiries on {backend} ({url.split('?')[0]})")
    else:
        seed.create_demo_accounts(engine)  # staff + manager to act as, and assignees
        log(f"seeding {rows:,} inquiries on {backend} with python -m dashboard seed …")
        seconds = _run_cli_seed(url, rows, seed_value)
        info = {
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "command": f"python -m dashboard seed --rows {rows} --seed {seed_value} --quiet",
            "reused": False,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        meta_path.write_text(json.dumps(info))
        log(f"seeded in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    db.set_engine(engine)
    return BenchDatabase(backend=backend, rows=rows, url=url, engine=engine, seed_info=info)


def prepare_for(opts, log=print) -> BenchDatabase:
    """``prepare`` the database a run's options name (``bench.run.Options``,
    ``bench.browser.BrowserOptions``): their backend, rows, pg_url, fresh, directory, schema."""
    fields = ("backend", "rows", "pg_url", "fresh", "directory", "schema")
    return prepare(**{name: getattr(opts, name) for name in fields}, log=log)
