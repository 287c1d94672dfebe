"""Account administration: list, create, change role, deactivate or reactivate, reset the
password; by an active administrator or the operator at the console (``accounts.Operator``).

The rules live here, not in the page or the command line: nobody deactivates or demotes
themselves, the last active administrator always stays, and every change writes an
``AccountEvent`` naming who made it. ``dashboard.accounts`` re-exports these functions.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
import sqlalchemy.orm
from sqlmodel import Session, select

import models
from dashboard import sessions
from dashboard.accounts import (
    Administrator,
    _audit,
    _target,
    create_user,
    generate_password,
    hash_password,
    password_problem,
    require_admin,
)
from dashboard.errors import FormInvalid, NotAllowed
from models import ROLE_LABELS, AccountAction, AccountEvent, Role, User

#: Account administration is rare; PostgreSQL runs it one transaction at a time (a transaction
#: advisory lock), so two administrators acting on each other's accounts queue instead of
#: deadlocking on the two rows, and the second sees the first one's change.
_ADMIN_LOCK_KEY = 0x5A_0AD_0001


#: The administrator check of every function here: the console operator may administer accounts.
_require_admin = functools.partial(require_admin, lock_key=_ADMIN_LOCK_KEY, console=True)


def _other_active_admins(session: Session, user: User) -> int:
    # FOR UPDATE on PostgreSQL: two administrators demoting each other at once queue here, so
    # the second one sees the first one's change and is refused.
    rows = session.exec(
        select(User.id)
        .where(User.role == Role.admin.value, User.is_active, User.id != user.id)
        .with_for_update()
    ).all()
    return len(rows)


def _guard_admin_removal(session: Session, actor: Administrator, user: User, what: str) -> None:
    if isinstance(actor, User) and actor.id == user.id:
        raise NotAllowed(f"不能{what}自己的账号")
    if user.role == Role.admin and user.is_active and _other_active_admins(session, user) == 0:
        raise NotAllowed(f"不能{what}最后一个在用的系统管理员")


def list_users(
    session: Session,
    *,
    actor: Administrator,
    search: str = "",
    role: str | None = None,
    limit: int | None = None,
) -> list[User]:
    """Accounts by username (administrators only), optionally only those whose username, name,
    company or e-mail contains ``search`` and that have ``role``; at most ``limit`` of them."""
    _require_admin(session, actor)
    stmt = select(User).where(*_user_conditions(search, role)).order_by(User.username)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt))


def count_users(
    session: Session, *, actor: Administrator, search: str = "", role: str | None = None
) -> int:
    """How many accounts ``list_users`` would list without a limit."""
    _require_admin(session, actor)
    return session.exec(
        select(sa.func.count()).select_from(User).where(*_user_conditions(search, role))
    ).one()


def _user_conditions(search: str, role: str | None) -> list:
    conds = []
    term = models.visible_text(search).strip()
    if term:
        conds.append(
            sa.or_(
                *(
                    sa.func.lower(column).contains(term.lower(), autoescape=True)
                    for column in (User.username, User.display_name, User.company_name, User.email)
                )
            )
        )
    if role:
        conds.append(User.role == role)
    return conds


def add_user(
    session: Session,
    *,
    actor: Administrator,
    username: str,
    role: str,
    password: str | None = None,
    company_name: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> tuple[User, str | None]:
    """An administrator creates an account.

    Without ``password`` a one-time password is generated and returned (show it once); the user
    must choose their own at the first login. With ``password`` it is checked like any other.
    """
    actor = _require_admin(session, actor, write=True)
    generated = generate_password() if password is None else None
    user = create_user(
        session,
        username=username,
        password=generated or password or "",
        role=role,
        company_name=company_name,
        display_name=display_name,
        email=email,
        actor=actor,
    )
    if generated:
        user.must_change_password = True
        session.add(user)
    return user, generated


def set_role(session: Session, *, actor: Administrator, user_id: int, role: str) -> User:
    """Change an account's role. Enterprise accounts need a company name."""
    actor = _require_admin(session, actor, write=True)
    if role not in ROLE_LABELS:
        raise FormInvalid({"role": "角色无效"})
    user = _target(session, user_id)
    if user.role == role:
        return user
    if user.role == Role.admin:
        _guard_admin_removal(session, actor, user, "降级")
    if role == Role.enterprise and not user.company_name:
        raise FormInvalid({"role": "企业用户需要公司名称，请先为该账号填写公司名称"})
    _audit(session, AccountAction.role_changed, user, actor, f"{user.role}->{role}")
    user.role = role
    # Pages and rights follow the role: the user logs in again to get the new ones.
    sessions.end_all(session, user.id)
    session.add(user)
    session.flush()
    return user


def set_active(session: Session, *, actor: Administrator, user_id: int, active: bool) -> User:
    """Deactivate (no login, sessions end at their next click) or reactivate an account."""
    actor = _require_admin(session, actor, write=True)
    user = _target(session, user_id)
    if user.is_active == active:
        return user
    if not active:
        _guard_admin_removal(session, actor, user, "停用")
    user.is_active = active
    if not active:
        sessions.end_all(session, user.id)
    if active:
        user.failed_logins = 0
        user.first_failed_at = None
        user.locked_until = None
    _audit(session, AccountAction.activated if active else AccountAction.deactivated, user, actor)
    session.add(user)
    session.flush()
    return user


def reset_password(
    session: Session, *, actor: Administrator, user_id: int, password: str | None = None
) -> str | None:
    """Give an account a new password and lift a login lock.

    Without ``password`` a one-time password is generated and returned, and the user must change
    it at the next login. With ``password`` it is checked and set as it is.
    """
    actor = _require_admin(session, actor, write=True)
    user = _target(session, user_id)
    generated = generate_password() if password is None else None
    if generated is None:
        problem = password_problem(password or "", username=user.username)
        if problem:
            raise FormInvalid({"password": problem})
    user.password_hash = hash_password(generated or password or "")
    user.must_change_password = generated is not None
    sessions.end_all(session, user.id)
    user.failed_logins = 0
    user.first_failed_at = None
    user.locked_until = None
    _audit(
        session,
        AccountAction.password_reset,
        user,
        actor,
        "one-time password" if generated else "set by administrator",
    )
    session.add(user)
    session.flush()
    return generated


def recent_events(session: Session, *, actor: Administrator, limit: int = 50) -> list[dict]:
    """The latest account audit events, newest first, with usernames (administrators only)."""
    _require_admin(session, actor)
    subject = sa.orm.aliased(User)
    doer = sa.orm.aliased(User)
    rows = session.exec(
        select(AccountEvent, subject.username, doer.username)
        .join(subject, subject.id == AccountEvent.user_id, isouter=True)
        .join(doer, doer.id == AccountEvent.actor_id, isouter=True)
        .order_by(AccountEvent.at.desc(), AccountEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        {"at": e.at, "action": e.action, "user": u or "", "actor": a or "", "detail": e.detail}
        for e, u, a in rows
    ]
