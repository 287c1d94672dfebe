"""Command line: ``python -m dashboard init-db | seed | create-user | list-users | set-role |
deactivate | activate | reset-password | report | send-mail | purge | access-log``.

Account commands act as the operator at the console (``accounts.Operator``): the same
rules as the 用户管理 page apply (the last active administrator stays), and every change is
audited. Passwords are never command-line arguments: they are prompted for twice, or read from
the first line of standard input with ``--password-stdin``.
"""

# The entry point, the database commands (init-db, seed, rebuild-rollup) and the table of every
# sub-command; the account commands live in dashboard.cli_accounts, the report and data-care
# commands in dashboard.cli_reports.

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from dashboard import cli_accounts, cli_reports, db, rollup, seed
from dashboard.bootstrap import DemoRefused, demo_allowed
from dashboard.settings import get_settings


def cmd_init_db(args: argparse.Namespace) -> int:
    db.migrate()
    print(f"数据库已就绪: {db.get_engine().url.render_as_string(hide_password=True)}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    engine = db.get_engine()
    db.migrate(engine)
    if args.demo_accounts:
        try:
            if not demo_allowed(get_settings(), engine):
                raise DemoRefused("演示账号已被设置关闭（DASHBOARD_DEMO=0 或 PostgreSQL）")
        except DemoRefused as err:
            print(err, file=sys.stderr)
            return 2
        seed.create_demo_accounts(engine)
    with tqdm(total=args.rows, unit="条", desc="生成询保申请", disable=args.quiet) as bar:
        added = seed.seed(engine, rows=args.rows, seed=args.seed, progress=bar.update)
    print(f"已添加 {added:,} 条询保申请")
    return 0


def cmd_rebuild_rollup(args: argparse.Namespace) -> int:
    engine = db.get_engine()
    db.migrate(engine)
    with engine.begin() as conn:
        rollup.reset(conn)
        total = conn.execute(
            sa.text(
                "SELECT COALESCE(SUM(n), 0) FROM report_count WHERE grain = 'm' AND "
                "province_code = '*'"
            )
        ).scalar_one()
    print(f"统计报表汇总已重建: {int(total):,} 条已提交/已完成的询保申请")
    return 0


# --------------------------------------------------------------------------------------------
# Arguments: one function per sub-command that takes any (the others' are with their commands)


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument(
        "--demo-accounts",
        action="store_true",
        help="also create the demo accounts (password demo-pass-2026)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _no_args(p: argparse.ArgumentParser) -> None:
    pass


#: The sub-commands: name, help, what runs, its arguments, more defaults.
COMMANDS = [
    ("init-db", "create or migrate the database schema", cmd_init_db, _no_args, {}),
    ("seed", "add N deterministic demo inquiries", cmd_seed, _seed_args, {}),
    (
        "rebuild-rollup",
        "recompute the report rollup from the inquiries (after loading data by hand)",
        cmd_rebuild_rollup,
        _no_args,
        {},
    ),
    (
        "report",
        "write 统计报表 as one self-contained HTML file (charts included, opens offline); "
        "--mail: also to every active manager",
        cli_reports.cmd_report,
        cli_reports.report_args,
        {},
    ),
    (
        "create-user",
        "create an account; the password is prompted for",
        cli_accounts.cmd_create_user,
        cli_accounts.create_user_args,
        {},
    ),
    (
        "list-users",
        "list accounts: username, role, state, company, e-mail",
        cli_accounts.cmd_list_users,
        _no_args,
        {},
    ),
    (
        "set-role",
        "change an account's role",
        cli_accounts.cmd_set_role,
        cli_accounts.set_role_args,
        {},
    ),
    (
        "deactivate",
        "deactivate an account (it can no longer log in)",
        cli_accounts.cmd_set_active,
        cli_accounts.username_arg,
        {"active": False},
    ),
    (
        "activate",
        "reactivate an account and lift its login lock",
        cli_accounts.cmd_set_active,
        cli_accounts.username_arg,
        {"active": True},
    ),
    (
        "reset-password",
        "set a new password (prompted) and lift the lock",
        cli_accounts.cmd_reset_password,
        cli_accounts.reset_password_args,
        {},
    ),
    (
        "send-mail",
        "send the e-mail outbox's due mail and queue overdue notices (run it from cron)",
        cli_reports.cmd_send_mail,
        _no_args,
        {},
    ),
    (
        "purge",
        "retention (DASHBOARD_RETENTION_DAYS): anonymise old completed inquiries' contact "
        "fields, delete old drafts",
        cli_reports.cmd_purge,
        cli_reports.purge_args,
        {},
    ),
    (
        "access-log",
        "export the personal-data access log as CSV",
        cli_reports.cmd_access_log,
        cli_reports.access_log_args,
        {},
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, func, arguments, defaults in COMMANDS:
        p = sub.add_parser(name, help=help_text)
        arguments(p)
        p.set_defaults(func=func, **defaults)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "rows", 1) < 0:
        print("--rows 不能为负数", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
