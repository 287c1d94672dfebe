"""The account commands of ``python -m dashboard``: create-user, list-users, set-role, deactivate
and activate (``cmd_set_active``), reset-password, and their arguments.

They act as the operator at the console (``accounts.Operator``): the same rules as the 用户管理
page apply (the last active administrator stays), and every change is audited. Passwords are
never command-line arguments: they are prompted for twice, or read from the first line of
standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from dashboard import accounts, db
from dashboard.errors import DomainError, FormInvalid
from models import ROLE_LABELS


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码: ")
    second = getpass.getpass("再次输入密码: ")
    if first != second:
        raise SystemExit("两次输入的密码不一致")
    return first


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


def _account_command(args: argparse.Namespace, change, done, **values) -> int:
    """On the account ``args.username``, in one transaction, as the console operator:
    ``change(session, actor=…, user_id=…, **values)``; then print ``done(user, its result)``."""
    db.migrate()
    try:
        with db.session_scope() as session:
            user = accounts.get_by_username(session, args.username)
            if user is None:
                print(f"找不到用户 {args.username}", file=sys.stderr)
                return 2
            operator = accounts.Operator.at_console()
            result = change(session, actor=operator, user_id=user.id, **values)
            message = done(user, result)
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
    def done(user, _):
        return f"已将 {user.username} 的角色改为{ROLE_LABELS[args.role]}"

    return _account_command(args, accounts.set_role, done, role=args.role)


def cmd_set_active(args: argparse.Namespace) -> int:
    def done(user, _):
        return f"已{'启用' if args.active else '停用'}账号 {user.username}"

    return _account_command(args, accounts.set_active, done, active=args.active)


def cmd_reset_password(args: argparse.Namespace) -> int:
    password = None if args.one_time else _read_password(args.password_stdin)

    def done(user, generated):
        if generated:
            return f"已重置 {user.username} 的密码。一次性密码（首次登录后须修改）：{generated}"
        return f"已重置 {user.username} 的密码"

    return _account_command(args, accounts.reset_password, done, password=password)


# --------------------------------------------------------------------------------------------
# Arguments: one function per sub-command that takes any


def _password_stdin_arg(p, help_text="read the password from the first line of standard input"):
    p.add_argument("--password-stdin", action="store_true", help=help_text)


def create_user_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=sorted(ROLE_LABELS))
    p.add_argument("--company", help="company name (required for enterprise accounts)")
    p.add_argument("--display-name")
    p.add_argument("--email")
    _password_stdin_arg(p)


def username_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")


def set_role_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("role", choices=sorted(ROLE_LABELS))


def reset_password_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    how = p.add_mutually_exclusive_group()
    _password_stdin_arg(how, "read the new password from the first line of standard input")
    how.add_argument(
        "--one-time",
        action="store_true",
        help="generate a one-time password (printed once; must be changed at the next login)",
    )
