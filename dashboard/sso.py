"""Single sign-on: which account an identity from the insurer's identity provider logs in as.

Only by a verified e-mail that matches exactly one active staff, manager or admin account; an
enterprise account never logs in this way. Every outcome is an ``AccountEvent``.
``dashboard.accounts`` re-exports ``user_for_identity``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard.accounts import _normalized_email, record
from models import AccountAction, Role, User, utcnow

#: Roles single sign-on may grant: the insurer's own people, never enterprise accounts.
SSO_ROLES = (Role.staff.value, Role.manager.value, Role.admin.value)


def user_for_identity(
    session: Session, *, email: str | None, email_verified: bool | None = True
) -> User | None:
    """The account a single-sign-on identity maps to, or None (no access).

    The identity's e-mail must be verified (when the provider says) and match exactly one
    active account with a staff, manager or admin role (compared case-insensitively).
    Enterprise accounts never log in this way. Each outcome is recorded.
    """
    normalized = _normalized_email(email)
    if normalized is None or email_verified is False:
        record(
            session, action=AccountAction.sso_refused, user_id=None, detail=f"email={email!r}"[:500]
        )
        return None
    matches = session.exec(select(User).where(sa.func.lower(User.email) == normalized)).all()
    eligible = [u for u in matches if u.is_active and u.role in SSO_ROLES]
    if len(matches) != 1 or len(eligible) != 1:
        record(
            session,
            action=AccountAction.sso_refused,
            user_id=matches[0].id if len(matches) == 1 else None,
            detail=f"email={normalized}",
        )
        return None
    user = eligible[0]
    user.last_login_at = utcnow()
    record(session, action=AccountAction.sso_login, user_id=user.id, detail=f"email={normalized}")
    session.add(user)
    return user
