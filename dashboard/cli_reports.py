"""The report and data-care commands of ``python -m dashboard``: report (统计报表 as an HTML
file, ``--mail`` to the managers), send-mail (the outbox, for cron), purge (retention) and
access-log (the personal-data access log as CSV), and their arguments.

A report is made with the rights of a manager (``--as``, else the only active manager), never
with rights of its own; send-mail is the system's own delivery and acts as no user; purge and
access-log act as the operator at the console (``accounts.Operator``).
"""

from __future__ import annotations

import argparse
import sys

from dashboard import accounts, clock, db, mailer
from dashboard.errors import NotAllowed
from models import INTENT_LABELS


def _report_actor(session, username: str | None):
    """Whose rights the report is made with: the manager ``--as`` names, else the only active
    manager. The report functions answer managers only and the console operator is no account,
    so the file is made as a manager would see it, never with rights of its own."""
    if username:
        return accounts.get_by_username(session, username)
    managers = [
        u
        for u in accounts.list_users(session, actor=accounts.Operator.at_console())
        if u.role == "manager" and u.is_active
    ]
    if len(managers) != 1:
        names = "、".join(u.username for u in managers) or "（无）"
        raise NotAllowed(f"请用 --as 指定一个在用的管理人员账号：{names}")
    return managers[0]


def _report_filter(args: argparse.Namespace):
    """The report's filter from the options, or None (the problems printed)."""
    from dashboard import reports

    given = {"start": args.start, "end": args.end, "intents": ",".join(args.intent or [])}
    given |= {"region": args.province, "granularity": args.granularity}
    params = {key: value for key, value in given.items() if value}
    default = reports.default_filter(clock.today())
    flt, notices = reports.ReportFilter.from_params(params, default=default)
    for notice in notices:
        print(notice.split("，")[0].replace("链接中的", "参数中的"), file=sys.stderr)
    return None if notices else flt


def _queue_report(made, actor) -> int:
    """Queue the report file to every active manager (``notify.queue_report``), one transaction."""
    from dashboard import notify

    try:
        with db.session_scope() as session:
            recipients = notify.queue_report(session, actor=actor, report=made)
    except NotAllowed:
        print(f"{actor.username} 不是在用的管理人员账号", file=sys.stderr)
        return 2
    if not recipients:
        print(
            "没有可接收报告的管理人员（角色为管理人员、账号在用且填写了邮箱），未发送邮件；"
            "可用 create-user --email 或在用户管理页面填写邮箱",
            file=sys.stderr,
        )
        return 2
    print(f"已将报告加入发件箱，共 {len(recipients)} 封：{'、'.join(recipients)}")
    if problem := mailer.delivery_problem():
        print(problem, file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """统计报表 as one HTML file, made as a manager (``_report_actor``); with ``--mail`` also
    queued to every active manager through the outbox (without ``--out``: queued only)."""
    from dashboard import report_file

    db.migrate()
    flt = _report_filter(args)
    if flt is None:
        return 2
    try:
        with db.session_scope(write=False) as session:
            actor = _report_actor(session, args.as_user)
            made = report_file.build(session, flt, actor=actor)
    except NotAllowed as err:
        print(f"{args.as_user} 不是在用的管理人员账号" if args.as_user else err, file=sys.stderr)
        return 2
    out = args.out or (None if args.mail else made.name)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(made.html)
        print(f"已生成统计报表 {out}（{flt.start} 至 {flt.end}）")
    return _queue_report(made, actor) if args.mail else 0


def cmd_send_mail(args: argparse.Namespace) -> int:
    """Send the outbox's due mail and write the overdue notices that are due (for cron). The
    system's own delivery: it acts as no user (``mailer.run_once``)."""
    db.migrate()
    report = mailer.run_once()
    print(
        f"已发送 {report.sent} 封，待重试 {report.retrying} 封，发送失败 {report.failed} 封；"
        f"新增超时提醒 {report.overdue} 条"
    )
    if report.problem:
        print(report.problem, file=sys.stderr)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """The retention purge (``privacy.purge``) as the console operator: ``--dry-run`` counts,
    ``--apply`` anonymises and deletes (logged in the access log with the counts)."""
    from dashboard import privacy

    db.migrate()
    try:
        with db.session_scope(write=args.apply) as session:
            # The first purge of years of data may outlast the statement timeout (PostgreSQL:
            # ~10 s per 80,000 anonymised rows); the console's work may take its time.
            db.unbounded(session.connection())
            done = privacy.purge(session, actor=accounts.Operator.at_console(), apply=args.apply)
    except NotAllowed as err:
        print(err, file=sys.stderr)
        return 2
    when = clock.show(done.cutoff)
    if done.applied:
        print(
            f"已清理（保留 {done.days} 天，{when} 之前）：匿名化 {done.anonymised:,} 条已完成的"
            f"询保申请，删除 {done.drafts:,} 条暂存申请"
        )
    else:
        print(
            f"试运行（保留 {done.days} 天，{when} 之前）：将匿名化 {done.anonymised:,} 条已完成的"
            f"询保申请，删除 {done.drafts:,} 条暂存申请；加 --apply 执行"
        )
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    """The access log (``privacy.write_access_log_csv``) as CSV, to a file or standard output."""
    import contextlib
    from datetime import date

    from dashboard import privacy

    db.migrate()
    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None
    except ValueError:
        print("日期格式应为 YYYY-MM-DD", file=sys.stderr)
        return 2
    flt = privacy.AccessLogFilter(
        start=start, end=end, actions=tuple(args.action or ()), actor=args.user or ""
    )
    with contextlib.ExitStack() as stack:
        # A file gets a BOM (utf-8-sig), so that Excel opens it as UTF-8.
        out = (
            stack.enter_context(open(args.out, "w", encoding="utf-8-sig", newline=""))
            if args.out
            else sys.stdout
        )
        session = stack.enter_context(db.session_scope(write=False))
        n = privacy.write_access_log_csv(
            session, flt, actor=accounts.Operator.at_console(), out=out
        )
    if args.out:
        print(f"已导出 {n:,} 条访问记录到 {args.out}")
    return 0


# --------------------------------------------------------------------------------------------
# Arguments: one function per sub-command that takes any


def report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: 30 days back)")
    p.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today)")
    p.add_argument("--intent", action="append", choices=sorted(INTENT_LABELS), help="repeatable")
    p.add_argument("--province", help="a province code, e.g. 440000")
    p.add_argument("--granularity", choices=["day", "week", "month"])
    p.add_argument(
        "--out",
        help="the file to write (default: 统计报表_<from>_<to>.html; none with --mail alone)",
    )
    p.add_argument(
        "--mail",
        action="store_true",
        help="also queue the file to every active manager with an e-mail address (the outbox; "
        "send-mail or the app's sender delivers it)",
    )
    p.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="the active manager whose view it is (default: the only active manager)",
    )


def purge_args(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="count what would be purged")
    mode.add_argument("--apply", action="store_true", help="purge (logged with the counts)")


def access_log_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (Asia/Shanghai)")
    p.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
    p.add_argument(
        "--action",
        action="append",
        choices=["viewed", "exported", "anonymised", "purged", "draft_deleted"],
        help="repeatable; default: every kind",
    )
    p.add_argument("--user", help="only rows whose actor's name contains this")
    p.add_argument("--out", help="the CSV file to write (default: standard output)")
