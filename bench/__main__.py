"""``python -m bench --rows N [--backend sqlite|postgres] [--json PATH]``.

Seeds N inquiries with the CLI's seeder into a fresh database (or reuses one of that size), times
every operation as the app runs it and as the minimal hand-written SQL (the floor), prints a table
and, with ``--json``, writes the results. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import database
from bench.run import Options, run, table


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--rows", type=int, help="inquiries in the database")
    p.add_argument("--show", type=Path, help="only print the table of a saved --json file")
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--json", type=Path, dest="json_path", help="write the results here")
    p.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="at least this many timed runs per op (after a warm-up)",
    )
    p.add_argument(
        "--min-seconds",
        type=float,
        default=0.25,
        help="and more runs, project and floor in turn, until each side has run this long",
    )
    p.add_argument(
        "--pg-url",
        default=database.DEFAULT_PG_URL,
        help="PostgreSQL database holding the bench_N schema",
    )
    p.add_argument("--fresh", action="store_true", help="seed again even if a database exists")
    p.add_argument("--dir", type=Path, dest="directory", help="where SQLite files go (bench/)")
    p.add_argument("--no-app-memory", dest="app_memory", action="store_false")
    p.add_argument("--no-naive", dest="naive", action="store_false")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.show:
        print(table(json.loads(args.show.read_text())))
        return 0
    if not args.rows or args.rows < 1 or args.repeat < 1 or args.min_seconds < 0:
        raise SystemExit("--rows and --repeat must be positive, --min-seconds not negative")
    options = vars(args)
    del options["show"]
    results = run(Options(**options))
    print()
    print(f"{args.rows:,} inquiries on {args.backend}")
    print(table(results))
    failed = [r["op"] for r in results if r.get("answers_match") is False]
    if failed:
        print(f"\nproject and floor disagree on: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
