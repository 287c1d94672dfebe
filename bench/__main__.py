"""``python -m bench --rows N [--backend sqlite|postgres] [--json PATH]``.

Seeds N inquiries with the CLI's seeder into a fresh database (or reuses one of that size), times
every operation as the app runs it and as the minimal hand-written SQL (the floor), prints a table
and, with ``--json``, writes the results. With ``--browser``, drives the real app in Chromium
instead and times what the user sees (``bench.browser``). See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import browser, database
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
        help="at least this many timed runs per op (after a warm-up; 5), or rounds per browser "
        "session with --browser (10)",
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
    b = p.add_argument_group("browser", "--browser: the real app in Chromium (bench.browser)")
    b.add_argument("--browser", action="store_true", help="time the app in a real browser")
    b.add_argument("--users", type=int, default=1, help="concurrent browser sessions (1)")
    b.add_argument(
        "--processes", type=int, default=1, help="app processes behind nginx (1; 2 needs postgres)"
    )
    b.add_argument(
        "--think", type=float, default=1.0, help="seconds a user waits after each result (1)"
    )
    b.add_argument(
        "--timeout", type=float, default=60.0, help="seconds an interaction may take (60)"
    )
    b.add_argument(
        "--results",
        type=Path,
        default=browser.RESULTS_FILE,
        help="append the Markdown report here (bench/results/browser.md)",
    )
    b.add_argument("--screenshots", type=Path, help="save a screenshot per round here")
    b.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        choices=range(0, 20),
        metavar="N",
        help="run the browsers at this niceness, below the app (0: as they start)",
    )
    return p


def main_browser(args: argparse.Namespace) -> int:
    if args.users < 1 or args.processes < 1 or args.think < 0 or args.timeout <= 0:
        raise SystemExit("--users and --processes must be positive, --think not negative")
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    opts = browser.BrowserOptions(
        rows=args.rows,
        repeat=args.repeat or 10,
        users=args.users,
        processes=args.processes,
        backend=args.backend,
        pg_url=args.pg_url,
        fresh=args.fresh,
        directory=args.directory,
        think_s=args.think,
        timeout_s=args.timeout,
        screenshots=args.screenshots,
        browser_nice=args.browser_nice,
    )
    result = browser.run_browser(opts, log=lambda *a: print(*a, flush=True))
    browser.save(result, args.results)
    print()
    print(browser.report(result))
    print(f"\n(appended to {args.results})")
    return 1 if result["errors"] else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.show:
        print(table(json.loads(args.show.read_text())))
        return 0
    if not args.rows or args.rows < 1 or (args.repeat is not None and args.repeat < 1):
        raise SystemExit("--rows and --repeat must be positive")
    if args.min_seconds < 0:
        raise SystemExit("--min-seconds must not be negative")
    if args.browser:
        return main_browser(args)
    options = vars(args)
    for name in (
        "show",
        "browser",
        "users",
        "processes",
        "think",
        "timeout",
        "results",
        "screenshots",
        "browser_nice",
    ):
        del options[name]
    options["repeat"] = options["repeat"] or 5
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
