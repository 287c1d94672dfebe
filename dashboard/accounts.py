"""User accounts: argon2 password hashes, login with throttling, role checks, administration.

``authenticate`` answers the same way (None) for an unknown user, a wrong password, an inactive or
a locked account, and spends the same argon2 work on each, so a caller cannot tell which it was.

Administration (``add_user``, ``set_role``, ``set_active``, ``reset_password``: an active
administrator, or the operator at the console) lives in ``dashboard.administration`` and is
re-exported here; single sign-on (``user_for_identity``) lives in ``dashboard.sso``.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm
from sqlmodel import Session, select

import models
from dashboard import dialect, lazy, login_limits, passwords, sessions
from dashboard.errors import FormInvalid, NotAllowed, NotFound
from dashboard.passwords import (  # noqa: F401  (part of this module's interface)
    MIN_PASSWORD_LENGTH,
    common_passwords,
    generate_password,
    hash_password,
    password_problem,
    verify_password,
)
from models import ROLE_LABELS, AccountAction, AccountEvent, Role, User, utcnow

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)

#: The insurer's people who handle inquiries: they see every submitted one, and can be given one.
STAFF_ROLES = (Role.staff.value, Role.manager.value)


def record(
    session: Session,
    *,
    action: AccountAction,
    user_id: int | None,
    actor_id: int | None = None,
    detail: str = "",
) -> AccountEvent:
    """Append an account audit event (login, lock, role change…)."""
    event = AccountEvent(user_id=user_id, actor_id=actor_id, action=action, detail=detail[:500])
    session.add(event)
    return event


def _lock_user(session: Session, user_id: int):
    """The account row ``user_id`` read ``FOR UPDATE`` (PostgreSQL), over any copy the session
    holds: the caller takes ``.one()`` or ``.first()``."""
    return session.exec(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def get_by_username(session: Session, username: str) -> User | None:
    """The account ``username`` names, whatever its case or width (``models.normalize_username``).

    Compared with ``lower(username)`` (the unique index ``ix_user_account_username_lower``), so an
    account created before usernames were normalized (``Staff``) is found as ``staff`` too; one
    whose stored name NFKC or SQL ``lower()`` would change otherwise (``ｓｔａｆｆ``) is still found
    by its exact name, which wins over a normalized match.
    """
    typed = (username or "").strip()
    normalized = models.normalize_username(typed)
    if not normalized or "\x00" in typed:  # no account has either; PostgreSQL refuses a NUL
        return None
    matches = session.exec(
        select(User).where(
            sa.or_(sa.func.lower(User.username) == normalized, User.username == typed)
        )
    ).all()
    exact = [user for user in matches if user.username == typed]
    return (exact or matches or [None])[0]


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    company_name: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    actor: Administrator | None = None,
    check_password: bool = True,
) -> User:
    """Create an account. Enterprise accounts need a company name. Raises FormInvalid.

    The username is stored normalized (NFKC, lower case: ``models.normalize_username``) and must
    not be taken in any case or width; the unique index on ``lower(username)`` settles two
    creations of the same name at the same moment (the loser gets the same FormInvalid).
    """
    username = models.normalize_username(username)
    errs: dict[str, str] = {}
    username_error = models.username_problem(username)
    if username_error:
        errs["username"] = username_error
    elif get_by_username(session, username) is not None:
        errs["username"] = "用户名已被使用"
    if role not in ROLE_LABELS:
        errs["role"] = "角色无效"
    problem = (
        password_problem(password, username=username)
        if check_password
        else (None if password else "请填写密码")
    )
    if problem:
        errs["password"] = problem
    company_name, display_name = models.clean_text(company_name), models.clean_text(display_name)
    if role == Role.enterprise and not company_name:
        errs["company_name"] = "企业用户需要填写公司名称"
    elif problem := models.length_problem(company_name, "公司名称", 100) or models.text_problem(
        company_name, "公司名称"
    ):
        errs["company_name"] = problem
    if problem := models.length_problem(display_name, "显示名称", 64) or models.text_problem(
        display_name, "显示名称"
    ):
        errs["display_name"] = problem
    email_problem = _email_problem(email)
    if email_problem:
        errs["email"] = email_problem
    if errs:
        raise FormInvalid(errs)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        company_name=company_name,
        display_name=display_name,
        email=_normalized_email(email),
    )
    try:
        with session.begin_nested():  # a SAVEPOINT: losing the race leaves the session usable
            session.add(user)
            session.flush()
    except sa.exc.IntegrityError as exc:
        # The only unique keys of user_account are the username and lower(username).
        raise FormInvalid({"username": "用户名已被使用"}) from exc
    if actor is None:
        record(session, action=AccountAction.created, user_id=user.id, detail=f"role={role}")
    else:
        _audit(session, AccountAction.created, user, actor, f"role={role}")
    return user


def _count_source_attempt(session: Session, source: str, now: datetime) -> bool:
    """``login_limits.count_attempt``, on PostgreSQL in a transaction of its own.

    The upsert locks the source's row until its transaction ends. In the login's transaction that
    was until after the password check (argon2, tens of milliseconds, more under load): every
    login from one address (an office behind one NAT, a proxy not passing the client's address)
    waited for the one before, whatever the account. 25 logins at once had 20 of the app's threads
    waiting on that row (py-spy, BENCHMARKS.md, sixth session). The count stays exact: each
    attempt still gets its own number back. SQLite's logins are one at a time anyway (the write
    lock is taken at the start), and a second transaction there would wait for the first."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or not isinstance(bind, sa.Engine):
        return login_limits.count_attempt(session, source, now)
    with Session(bind) as own:
        allowed = login_limits.count_attempt(own, source, now)
        own.commit()
    return allowed


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    source: str | None = None,
    now: datetime | None = None,
) -> User | None:
    """The active user with this username and password, or None — for every kind of failure.

    Failed attempts are counted per user; the 5th failure within 15 minutes locks the account for
    15 minutes (even the right password is refused while locked). Successes reset the count.
    The account row is read ``FOR UPDATE``, so parallel attempts on PostgreSQL are counted one
    after the other and no more than ``MAX_FAILED_LOGINS`` passwords are ever checked before the
    lock. ``source`` (the client's address) is limited too: see ``login_limits``.
    """
    now = now or utcnow()
    if source is not None and not _count_source_attempt(session, source, now):
        record(
            session,
            action=AccountAction.login_refused_source,
            user_id=None,
            detail=f"source={source}",
        )
        return None
    user = get_by_username(session, (username or "").strip())
    if user is not None:
        user = _lock_user(session, user.id).one()
    if user is None:
        verify_password(passwords.DUMMY_HASH, password or "")
        return None
    ok = verify_password(user.password_hash, password or "")
    if user.locked_until and user.locked_until > now:
        record(session, action=AccountAction.login_refused_locked, user_id=user.id)
        return None
    if not user.is_active:
        record(session, action=AccountAction.login_refused_inactive, user_id=user.id)
        return None
    if not ok:
        if user.first_failed_at is None or now - user.first_failed_at > FAILURE_WINDOW:
            user.first_failed_at = now
            user.failed_logins = 0
        user.failed_logins += 1
        record(session, action=AccountAction.login_failed, user_id=user.id)
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCK_DURATION
            user.failed_logins = 0
            user.first_failed_at = None
            record(
                session,
                action=AccountAction.locked,
                user_id=user.id,
                detail=f"{MAX_FAILED_LOGINS} failed logins",
            )
        session.add(user)
        return None
    if source is not None:
        login_limits.forgive_attempt(session, source)
    if user.locked_until is not None:
        record(session, action=AccountAction.unlocked, user_id=user.id, detail="lock expired")
        user.locked_until = None
    user.failed_logins = 0
    user.first_failed_at = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record(session, action=AccountAction.login, user_id=user.id)
    session.add(user)
    return user


NOT_ALLOWED = "您没有执行此操作的权限"

# The actor's rights as the database holds them now: a ``User`` handed in may have been read
# before an administrator deactivated or demoted it (a page drawn minutes ago, a button
# callback), so its own ``role`` and ``is_active`` are never trusted. ``populate_existing``
# refreshes the copy the session may already hold.
_ACTOR = select(User).where(User.id == sa.bindparam("id")).execution_options(populate_existing=True)
# In a write: FOR SHARE on PostgreSQL, so that an administrator's deactivation or demotion
# (FOR UPDATE on the same row) waits until this transaction ends, or this one sees it. SQLite's
# write scopes hold the database write lock, which orders them the same way.
_ACTOR_LOCKED = _ACTOR.with_for_update(read=True)


def require_role(session: Session, actor: User | None, *roles: str, write: bool = False) -> User:
    """The acting user re-read in this transaction; NotAllowed unless that row is active and has
    one of ``roles``.

    Callers use the returned row from then on (its role decides what the actor may see).
    ``write=True`` also keeps the row from being deactivated or demoted until the transaction
    ends, so a write is never committed for an actor whose rights were withdrawn meanwhile.
    """
    if not isinstance(actor, User) or actor.id is None:
        raise NotAllowed(NOT_ALLOWED)
    fresh = session.exec(_ACTOR_LOCKED if write else _ACTOR, params={"id": actor.id}).first()
    if fresh is None or not fresh.is_active or fresh.role not in roles:
        raise NotAllowed(NOT_ALLOWED)
    return fresh


def logged_in_user(session: Session, user_id: int) -> User | None:
    """The account of a login as the database holds it now: None once it was deleted or
    deactivated (the login then ends)."""
    user = session.get(User, user_id, populate_existing=True)
    return user if user is not None and user.is_active else None


def staff_members(session: Session) -> list[User]:
    """Active staff and managers: the people inquiries can be assigned to."""
    return list(
        session.exec(
            select(User).where(User.role.in_(STAFF_ROLES), User.is_active).order_by(User.username)
        )
    )


# --------------------------------------------------------------------------------------------
# E-mail of an account (optional; single sign-on maps identities by it)


def _normalized_email(email: str | None) -> str | None:
    normalized = models.normalize_email(email)
    return normalized.lower() if normalized else None


def _email_problem(email: str | None) -> str | None:
    return models.email_problem(email, "邮箱")


# --------------------------------------------------------------------------------------------
# Administration: an active administrator, or the operator at the server's console


@dataclass(frozen=True)
class Operator:
    """Whoever runs ``python -m dashboard`` on the server. They hold the database already, so
    account administration is theirs without an account of the app; the audit trail names them
    (``console:<name>`` in ``AccountEvent.detail``, no ``actor_id``). Nothing else accepts an
    operator: the inquiry and report functions want a ``User``."""

    name: str

    @classmethod
    def at_console(cls) -> Operator:
        """The operating-system user running this process."""
        try:
            return cls(getpass.getuser())
        except (KeyError, OSError):  # no passwd entry (a container's numeric user)
            return cls(f"uid {os.getuid()}")

    @property
    def label(self) -> str:
        return f"console:{self.name}"


#: Who may administer accounts.
Administrator = User | Operator


def require_admin(
    session: Session,
    actor: Administrator | None,
    *,
    write: bool = False,
    lock_key: int | None = None,
    console: bool = False,
) -> Administrator:
    """The acting administrator re-read in this transaction (see ``require_role``); NotAllowed
    for anyone else, also for no actor at all.

    ``console=True``: the console ``Operator`` is accepted too, for the parts of the set-up the
    CLI administers (accounts, personal data). ``lock_key`` with ``write=True``: one change to
    that part of the set-up at a time (a transaction advisory lock on PostgreSQL), so the checks
    a change makes (the last active administrator, a scope already taken) hold until it commits.
    """
    if write and lock_key is not None:
        dialect.serialise(session, lock_key)
    if console and isinstance(actor, Operator):
        return actor
    return require_role(session, actor, Role.admin.value, write=write)


def _target(session: Session, user_id: int) -> User:
    user = _lock_user(session, user_id).first()
    if user is None:
        raise NotFound("找不到该用户")
    return user


def _audit(
    session: Session, action: AccountAction, user: User, actor: Administrator, detail: str = ""
) -> None:
    """Record an administrative change: the acting account, or the console operator by name."""
    if isinstance(actor, Operator):
        detail = f"{detail} by {actor.label}".strip()
        record(session, action=action, user_id=user.id, detail=detail)
    else:
        record(session, action=action, user_id=user.id, actor_id=actor.id, detail=detail)


def change_password(
    session: Session,
    *,
    actor: User,
    current_password: str,
    new_password: str,
    keep_session: int | None = None,
) -> User:
    """The user changes their own password (also how a one-time password is replaced). Every
    other login of the user ends; ``keep_session``, the one making the change, stays."""
    user = _target(session, actor.id)
    if not user.is_active:
        raise NotAllowed("账号已停用")
    errs: dict[str, str] = {}
    if not verify_password(user.password_hash, current_password or ""):
        errs["current_password"] = "当前密码不正确"
    problem = password_problem(new_password or "", username=user.username)
    if problem:
        errs["new_password"] = problem
    elif new_password == current_password:
        errs["new_password"] = "新密码不能与当前密码相同"
    if errs:
        raise FormInvalid(errs)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    sessions.end_all(session, user.id, keep=keep_session)
    record(session, action=AccountAction.password_changed, user_id=user.id, actor_id=user.id)
    session.add(user)
    session.flush()
    return user


def register_company(
    session: Session,
    *,
    username: str,
    password: str,
    password_again: str,
    company_name: str,
    email: str,
) -> User:
    """Company self-registration (企业注册): always an enterprise account, never more."""
    errs: dict[str, str] = {}
    if password != password_again:
        errs["password_again"] = "两次输入的密码不一致"
    if not (email or "").strip():
        errs["email"] = "请填写联系邮箱"
    if errs:
        # Refuse before anything is written, naming every problem we can see without a write.
        problem = password_problem(password or "", username=username)
        raise FormInvalid({**({"password": problem} if problem else {}), **errs})
    user = create_user(
        session,
        username=username,
        password=password,
        role=Role.enterprise.value,
        company_name=company_name,
        email=email,
    )
    record(session, action=AccountAction.registered, user_id=user.id, actor_id=user.id)
    return user


source_wait_seconds = login_limits.wait_seconds

# --------------------------------------------------------------------------------------------
# Administration lives in dashboard.administration, which builds on this module and imports it.
# Its functions are part of this module's interface, looked up on use, so that either module can
# be imported first (an import of it here would find it half made when it is imported first).

#: The names of ``dashboard.administration`` read through this module.
_ADMINISTRATION = (
    "add_user",
    "count_users",
    "list_users",
    "recent_events",
    "reset_password",
    "set_active",
    "set_role",
)


__getattr__ = lazy.passed_through(__name__, "dashboard.administration", _ADMINISTRATION)
