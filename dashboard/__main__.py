"""Command line: ``python -m dashboard init-db | seed | create-user | list-users | set-role |
deactivate | activate | reset-password``.

Account commands act as the operator at the console (``accounts.Operator``): the same
rules as the 用户管理 page apply (the last active administrator stays), and every change is
audited. Passwords are never command-line arguments: they are prompted for twice, or read from
the first line of standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

import sqlalchemy as sa

from dashboard import accounts, db, rollup, seed
from dashboard.bootstrap import DemoRefused, demo_allowed
from dashboard.errors import DomainError, FormInvalid
from dashboard.settings import get_settings
from models import ROLE_LABELS


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码: ")
    second = getpass.getpass("再次输入密码: ")
    if first != second:
        raise SystemExit("两次输入的密码不一致")
    return first


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


def cmd_create_user(args: argparse.Namespace) -> int:
    db.migrate()
    password = _read_password(args.password_stdin)
    try:
        with db.session_scope() as session:
            user, _ = accounts.add_user(
                session,
                actor=accounts.Operator.at_console(),
                username=args.username,
                password=password,
                role=args.role,
                company_name=args.company,
                display_name=args.display_name,
                email=args.email,
            )
            print(f"已创建用户 {user.username}（{ROLE_LABELS[user.role]}）")
    except FormInvalid as err:
        for message in err.errors.values():
            print(message, file=sys.stderr)
        return 2
    return 0


def _account_command(args: argparse.Namespace, change) -> int:
    """Run ``change(session, user)`` on the named account in one transaction."""
    db.migrate()
    try:
        with db.session_scope() as session:
            user = accounts.get_by_username(session, args.username)
            if user is None:
                print(f"找不到用户 {args.username}", file=sys.stderr)
                return 2
            message = change(session, user)
    except DomainError as err:
        messages = err.errors.values() if isinstance(err, FormInvalid) else [str(err)]
        for message in messages:
            print(message, file=sys.stderr)
        return 2
    print(message)
    return 0


def cmd_list_users(args: argparse.Namespace) -> int:
    db.migrate()
    with db.session_scope(write=False) as session:
        users = accounts.list_users(session, actor=accounts.Operator.at_console())
    for u in users:
        state = "在用" if u.is_active else "已停用"
        last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "-"
        company = u.company_name or "-"
        print(f"{u.username}\t{u.role}\t{state}\t{company}\t{u.email or '-'}\t{last}")
    return 0


def cmd_set_role(args: argparse.Namespace) -> int:
    def change(session, user):
        accounts.set_role(
            session, actor=accounts.Operator.at_console(), user_id=user.id, role=args.role
        )
        return f"已将 {user.username} 的角色改为{ROLE_LABELS[args.role]}"

    return _account_command(args, change)


def cmd_set_active(args: argparse.Namespace) -> int:
    def change(session, user):
        accounts.set_active(
            session, actor=accounts.Operator.at_console(), user_id=user.id, active=args.active
        )
        return f"已{'启用' if args.active else '停用'}账号 {user.username}"

    return _account_command(args, change)


def cmd_reset_password(args: argparse.Namespace) -> int:
    password = None if args.one_time else _read_password(args.password_stdin)

    def change(session, user):
        generated = accounts.reset_password(
            session, actor=accounts.Operator.at_console(), user_id=user.id, password=password
        )
        if generated:
            return f"已重置 {user.username} 的密码。一次性密码（首次登录后须修改）：{generated}"
        return f"已重置 {user.username} 的密码"

    return _account_command(args, change)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init-db", help="create or migrate the database schema")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("seed", help="add N deterministic demo inquiries")
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument(
        "--demo-accounts",
        action="store_true",
        help="also create the demo accounts (password demo-pass-2026)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser(
        "rebuild-rollup",
        help="recompute the report rollup from the inquiries (after loading data by hand)",
    )
    p.set_defaults(func=cmd_rebuild_rollup)

    p = sub.add_parser("create-user", help="create an account; the password is prompted for")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=sorted(ROLE_LABELS))
    p.add_argument("--company", help="company name (required for enterprise accounts)")
    p.add_argument("--display-name")
    p.add_argument("--email")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("list-users", help="list accounts: username, role, state, company, e-mail")
    p.set_defaults(func=cmd_list_users)

    p = sub.add_parser("set-role", help="change an account's role")
    p.add_argument("username")
    p.add_argument("role", choices=sorted(ROLE_LABELS))
    p.set_defaults(func=cmd_set_role)

    p = sub.add_parser("deactivate", help="deactivate an account (it can no longer log in)")
    p.add_argument("username")
    p.set_defaults(func=cmd_set_active, active=False)

    p = sub.add_parser("activate", help="reactivate an account and lift its login lock")
    p.add_argument("username")
    p.set_defaults(func=cmd_set_active, active=True)

    p = sub.add_parser("reset-password", help="set a new password (prompted) and lift the lock")
    p.add_argument("username")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from the first line of standard input",
    )
    how.add_argument(
        "--one-time",
        action="store_true",
        help="generate a one-time password (printed once; must be changed at the next login)",
    )
    p.set_defaults(func=cmd_reset_password)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "rows", 1) < 0:
        print("--rows 不能为负数", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
