"""Failed logins per source (the client's address): a browser session's own cool-down ends with
the session, and the per-account lock does not stop one client from trying many accounts.
``accounts.authenticate`` counts every attempt here before it checks a password."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from dashboard import dialect
from models import AccountAction, AccountEvent, LoginSource, utcnow

SOURCE_MAX_FAILURES = 20
SOURCE_WINDOW = timedelta(minutes=15)
SOURCE_BLOCK = timedelta(minutes=15)
_SOURCES = LoginSource.__table__


def count_attempt(session: Session, source: str, now: datetime) -> bool:
    """Count one login attempt from ``source`` before its password is checked; False when the
    source is blocked (then nothing is checked at all).

    Counting before checking, in one upsert, makes the count exact under parallel attempts: each
    attempt gets its own number back. A successful login takes its attempt back
    (``forgive_attempt``), so only failures add up: ``SOURCE_MAX_FAILURES`` within
    ``SOURCE_WINDOW`` block the source for ``SOURCE_BLOCK``.
    """
    source = source[:64]
    stamp = sa.bindparam("now", now, type_=_SOURCES.c.window_start.type)
    expired = _SOURCES.c.window_start < sa.bindparam(
        "since", now - SOURCE_WINDOW, type_=_SOURCES.c.window_start.type
    )
    stmt = dialect.insert(dialect.name(session), _SOURCES).values(
        source=source, failures=1, window_start=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_SOURCES.c.source],
        set_={
            "failures": sa.case((expired, 1), else_=_SOURCES.c.failures + 1),
            "window_start": sa.case((expired, stamp), else_=_SOURCES.c.window_start),
        },
    ).returning(_SOURCES.c.failures, _SOURCES.c.blocked_until)
    failures, blocked_until = session.execute(stmt).one()
    if blocked_until is not None and blocked_until > now:
        return False
    if failures > SOURCE_MAX_FAILURES:
        # Blocked from now on, and counted afresh once the block ends.
        session.execute(
            sa.update(_SOURCES)
            .where(_SOURCES.c.source == source)
            .values(failures=0, window_start=now, blocked_until=now + SOURCE_BLOCK)
        )
        session.add(AccountEvent(action=AccountAction.source_blocked, detail=f"source={source}"))
        return False
    return True


def forgive_attempt(session: Session, source: str) -> None:
    session.execute(
        sa.update(_SOURCES)
        .where(_SOURCES.c.source == source[:64], _SOURCES.c.failures > 0)
        .values(failures=_SOURCES.c.failures - 1)
    )


def wait_seconds(session: Session, source: str, now: datetime | None = None) -> int:
    """Seconds until logins from ``source`` are checked again (0: not blocked)."""
    now = now or utcnow()
    blocked_until = session.execute(
        sa.select(_SOURCES.c.blocked_until).where(_SOURCES.c.source == source[:64])
    ).scalar()
    if blocked_until is None or blocked_until <= now:
        return 0
    return max(1, int((blocked_until - now).total_seconds() + 0.999))
