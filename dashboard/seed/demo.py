"""The demo accounts of DESIGN.md and the demo data of a first start.

Light on purpose: the login page lists these accounts, so importing this module must not import
the generator or the bulk loader (the data is only made by ``ensure_demo``, once).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from dashboard import accounts, db
from models import Role, User

DEMO_PASSWORD = "demo-pass-2026"
DEMO_ACCOUNTS = (
    # username, role, display name, company
    ("company", Role.enterprise, "演示企业用户", "深圳市前海演示进出口贸易有限公司"),
    ("staff", Role.staff, "业务人员小李", None),
    ("manager", Role.manager, "王经理", None),
    ("admin", Role.admin, "系统管理员", None),
)
EXTRA_STAFF = (("staff2", "业务人员小张"), ("staff3", "业务人员小陈"))


def create_demo_accounts(engine: Engine) -> dict[str, User]:
    """The demo accounts of DESIGN.md (password ``demo-pass-2026``), created if missing."""
    out: dict[str, User] = {}
    with db.session_scope(engine) as session:
        for username, role, display, company in DEMO_ACCOUNTS + tuple(
            (u, Role.staff, d, None) for u, d in EXTRA_STAFF
        ):
            user = accounts.get_by_username(session, username)
            if user is None:
                user = accounts.create_user(
                    session,
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role.value,
                    display_name=display,
                    company_name=company,
                    check_password=False,
                )
            out[username] = user
    return out


def ensure_demo(
    engine: Engine,
    *,
    rows: int,
    seed_value: int = 2026,
    progress: Callable[[str], None] | None = None,
) -> bool:
    """Fill an empty database with the demo accounts and ``rows`` demo inquiries; ``progress``
    hears what is being done, in a line each.

    Returns True when it seeded, False when the database already held data.
    """
    from dashboard.seed import seed  # here: the loader is needed only now (module docstring)

    if not db.is_empty(engine):
        return False
    say = progress or (lambda _text: None)
    say("Empty database: creating the demo accounts…")
    users = create_demo_accounts(engine)
    done = 0

    def count(n: int) -> None:
        nonlocal done
        done += n
        say(f"Demo inquiries: {done:,} of {rows:,}")

    seed(
        engine,
        rows=rows,
        seed=seed_value,
        progress=count,
        demo_owner_id=users["company"].id,
        demo_company=users["company"].company_name,
    )
    say("Demo data ready.")
    return True
