"""Start-up of the app and the CLI: migrate the schema, then demo mode when it applies.

Demo mode (DESIGN.md): an empty embedded (SQLite) database gets the demo accounts and demo
inquiries on first start; ``DASHBOARD_DEMO=0`` turns that off and ``DASHBOARD_DEMO=1`` forces it.
On PostgreSQL demo accounts, whose password is public, are refused unless
``DASHBOARD_ALLOW_DEMO_ON_POSTGRES=1`` as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from dashboard import accounts, db, seed
from dashboard.settings import Settings, get_settings
from models import User


@dataclass(frozen=True)
class Startup:
    demo_active: bool  # the demo accounts exist and still have the public demo password
    seeded: bool  # this start filled an empty database


class DemoRefused(RuntimeError):
    pass


def demo_allowed(settings: Settings, engine: Engine) -> bool:
    if settings.demo is False:
        return False
    if engine.dialect.name != "sqlite" and not settings.allow_demo_on_postgres:
        if settings.demo:
            raise DemoRefused(
                "演示模式在 PostgreSQL 上默认关闭（演示账号的密码是公开的）。"
                "如确需启用，请同时设置 DASHBOARD_ALLOW_DEMO_ON_POSTGRES=1"
            )
        return False
    return True


def demo_accounts_active(engine: Engine) -> bool:
    """True while any active demo account still logs in with the public demo password."""
    usernames = [u for u, *_ in seed.DEMO_ACCOUNTS] + [u for u, _ in seed.EXTRA_STAFF]
    with db.session_scope(engine, write=False) as session:
        hashes = session.exec(
            select(User.password_hash).where(User.username.in_(usernames), User.is_active)
        ).all()
    return any(accounts.verify_password(h, seed.DEMO_PASSWORD) for h in hashes)


def start(
    engine: Engine | None = None,
    settings: Settings | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Startup:
    """Migrate, and seed demo data into an empty database when demo mode applies (``progress``
    hears how far it got)."""
    engine = engine or db.get_engine()
    settings = settings or get_settings()
    db.migrate(engine)
    seeded = False
    if demo_allowed(settings, engine):
        seeded = seed.ensure_demo(engine, rows=settings.demo_rows, progress=progress)
    active = demo_allowed(settings, engine) and demo_accounts_active(engine)
    return Startup(demo_active=active, seeded=seeded)
