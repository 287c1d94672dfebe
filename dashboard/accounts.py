"""User accounts: argon2 password hashes, login with throttling, role checks.

``authenticate`` answers the same way (None) for an unknown user, a wrong password, an inactive or
a locked account, and spends the same argon2 work on each, so a caller cannot tell which it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from dashboard.errors import FormInvalid, NotAllowed
from models import ROLE_LABELS, AccountEvent, Role, User, utcnow

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that both paths cost the same.
_DUMMY_HASH = _hasher.hash("no-such-user-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is refused (Chinese), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要{MIN_PASSWORD_LENGTH}个字符"
    return None


def record(
    session: Session,
    *,
    action: str,
    user_id: int | None,
    actor_id: int | None = None,
    detail: str = "",
) -> AccountEvent:
    """Append an account audit event (login, lock, role change…)."""
    event = AccountEvent(user_id=user_id, actor_id=actor_id, action=action, detail=detail[:500])
    session.add(event)
    return event


def get_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    company_name: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    actor: User | None = None,
    check_password: bool = True,
) -> User:
    """Create an account. Enterprise accounts need a company name. Raises FormInvalid."""
    username = (username or "").strip()
    errs: dict[str, str] = {}
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        errs["username"] = "用户名不能为空、不能含空格，且不超过64个字符"
    elif get_by_username(session, username) is not None:
        errs["username"] = "用户名已被使用"
    if role not in ROLE_LABELS:
        errs["role"] = "角色无效"
    problem = password_problem(password) if check_password else (None if password else "请填写密码")
    if problem:
        errs["password"] = problem
    if role == Role.enterprise and not (company_name or "").strip():
        errs["company_name"] = "企业用户需要填写公司名称"
    if errs:
        raise FormInvalid(errs)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        company_name=(company_name or "").strip() or None,
        display_name=(display_name or "").strip() or None,
        email=(email or "").strip() or None,
    )
    session.add(user)
    session.flush()
    record(
        session,
        action="created",
        user_id=user.id,
        actor_id=actor.id if actor else None,
        detail=f"role={role}",
    )
    return user


def authenticate(
    session: Session, *, username: str, password: str, now: datetime | None = None
) -> User | None:
    """The active user with this username and password, or None — for every kind of failure.

    Failed attempts are counted per user; the 5th failure within 15 minutes locks the account for
    15 minutes (even the right password is refused while locked). Successes reset the count.
    """
    now = now or utcnow()
    user = get_by_username(session, (username or "").strip())
    if user is None:
        verify_password(_DUMMY_HASH, password or "")
        return None
    ok = verify_password(user.password_hash, password or "")
    if user.locked_until and user.locked_until > now:
        record(session, action="login_refused_locked", user_id=user.id)
        return None
    if not user.is_active:
        record(session, action="login_refused_inactive", user_id=user.id)
        return None
    if not ok:
        if user.first_failed_at is None or now - user.first_failed_at > FAILURE_WINDOW:
            user.first_failed_at = now
            user.failed_logins = 0
        user.failed_logins += 1
        record(session, action="login_failed", user_id=user.id)
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCK_DURATION
            user.failed_logins = 0
            user.first_failed_at = None
            record(
                session,
                action="locked",
                user_id=user.id,
                detail=f"{MAX_FAILED_LOGINS} failed logins",
            )
        session.add(user)
        return None
    if user.locked_until is not None:
        record(session, action="unlocked", user_id=user.id, detail="lock expired")
        user.locked_until = None
    user.failed_logins = 0
    user.first_failed_at = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record(session, action="login", user_id=user.id)
    session.add(user)
    return user


def require_role(actor: User, *roles: str) -> None:
    """Raise NotAllowed unless ``actor`` is active and has one of ``roles``."""
    if actor is None or not actor.is_active or actor.role not in roles:
        raise NotAllowed("您没有执行此操作的权限")


def staff_members(session: Session) -> list[User]:
    """Active staff and managers: the people inquiries can be assigned to."""
    return list(
        session.exec(
            select(User)
            .where(User.role.in_([Role.staff.value, Role.manager.value]), User.is_active)
            .order_by(User.username)
        )
    )
