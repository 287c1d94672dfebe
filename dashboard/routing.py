"""Routing: region and intent → team → assignee, when an inquiry is submitted (分配规则).

An administrator keeps the rules: a province, optionally one of its cities, optionally an intent
→ a team (a named group of staff and managers). ``route`` runs inside ``inquiries.submit``'s
transaction and gives the inquiry to the team member with the fewest open (已提交) inquiries;
among equals, the one whose last assignment lies furthest back (never assigned counts as
furthest), then the oldest account. Inactive members, and members no longer staff or managers,
are skipped. The most specific matching rule wins — province + city + intent, then province +
city, then province + intent, then province alone; a rule whose team has nobody to take the
inquiry passes it on to the next less specific one, and with no rule left the inquiry stays in
the shared queue (unassigned). The assignment is an ``InquiryEvent`` 'assigned' without an
actor (the system), its note saying 自动分配 and naming the rule.

Concurrency: the choice is serialised per team (``dialect.serialise``: an advisory lock on
PostgreSQL, the write lock on SQLite), so two submits at once never both see the same member as
the least busy; the lock is held until the submit commits.

Teams and rules, and their administration (every change recorded in ``routing_event`` with who
made it), live in ``dashboard.routing_rules``; this module re-exports them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard import accounts, dialect
from dashboard.routing_rules import (  # noqa: F401  (part of this module's interface)
    MEMBER_ROLES,
    TEAM_NAME_MAX,
    Change,
    Member,
    RuleView,
    TeamView,
    add_member,
    add_rule,
    change_rule,
    create_team,
    delete_rule,
    delete_team,
    history,
    member_label,
    remove_member,
    rules,
    scope_label,
    specificity,
    staff,
    teams,
)
from models import (
    ANY,
    Action,
    Inquiry,
    InquiryEvent,
    Role,
    RoutingRule,
    Status,
    Team,
    TeamMember,
    User,
)

AUTOMATIC = "自动分配"

# Advisory lock keys (``dialect.serialise``), one per team for the choice of an assignee.
# Distinct from ``routing_rules._ADMIN_LOCK_KEY``, the administration's.
_TEAM_LOCK_BASE = 0x52_0A7E_1000_0000


# --------------------------------------------------------------------------------------------
# On submit


_OPEN_COUNT = sa.func.count(Inquiry.id)
# The members of one team who can take an inquiry, least busy first, then the one waiting
# longest since their last assignment, then the oldest account. The count walks
# ix_inquiry_assignee_status.
_CANDIDATES = (
    select(User, _OPEN_COUNT)
    .join(TeamMember, TeamMember.user_id == User.id)
    .join(
        Inquiry,
        sa.and_(Inquiry.assignee_id == User.id, Inquiry.status == Status.submitted.value),
        isouter=True,
    )
    .where(
        TeamMember.team_id == sa.bindparam("team_id"),
        User.is_active,
        User.role.in_(MEMBER_ROLES),
    )
    .group_by(User.id, TeamMember.last_assigned_at)
    .order_by(_OPEN_COUNT, TeamMember.last_assigned_at.asc().nulls_first(), User.id)
    .limit(1)
)
_MATCHING_RULES = (
    select(RoutingRule, Team)
    .join(Team, Team.id == RoutingRule.team_id)
    .where(
        RoutingRule.province_code == sa.bindparam("province"),
        RoutingRule.city_code.in_([ANY, sa.bindparam("city")]),
        RoutingRule.intent.in_([ANY, sa.bindparam("intent")]),
    )
    .order_by(
        sa.case((RoutingRule.city_code != ANY, 0), else_=1),
        sa.case((RoutingRule.intent != ANY, 0), else_=1),
    )
)
_TOUCH_MEMBER = (
    sa.update(TeamMember)
    .where(TeamMember.user_id == sa.bindparam("member_id"))
    .values(
        last_assigned_at=sa.bindparam("when", type_=TeamMember.__table__.c.last_assigned_at.type)
    )
)


def matching_rules(session: Session, *, province_code: str, city_code: str | None, intent: str):
    """The rules matching a region and intent, most specific first, each with its team."""
    params = {"province": province_code, "city": city_code or ANY, "intent": intent or ANY}
    return session.exec(_MATCHING_RULES, params=params).all()


def route(session: Session, *, actor: User, inquiry: Inquiry, now: datetime) -> User | None:
    """Give a just-submitted inquiry to a team member by the rules (see the module's docstring);
    returns the assignee, or None when it stays in the shared queue.

    Called by ``inquiries.submit`` in its transaction, with ``actor`` the submitting company,
    before the mail about the new inquiry is written (it goes to the assignee when there is one).
    """
    accounts.require_role(session, actor, Role.enterprise.value, write=True)
    if inquiry.status != Status.submitted or inquiry.assignee_id is not None:
        return None
    matches = matching_rules(
        session,
        province_code=inquiry.province_code,
        city_code=inquiry.city_code,
        intent=inquiry.intent,
    )
    for rule, team in matches:
        dialect.serialise(session, _TEAM_LOCK_BASE + team.id)
        found = session.exec(_CANDIDATES, params={"team_id": team.id}).first()
        if found is None:
            continue  # nobody in this team can take it: the next less specific rule may
        assignee, _ = found
        inquiry.assignee_id = assignee.id
        inquiry.updated_at = now
        session.add(inquiry)
        session.flush()
        session.add(
            InquiryEvent(
                inquiry_id=inquiry.id,
                actor_id=None,
                at=now,
                action=Action.assigned.value,
                from_status=inquiry.status,
                to_status=inquiry.status,
                note=(
                    f"{AUTOMATIC}：负责人：{assignee.label}"
                    f"（规则：{scope_label(rule.province_code, rule.city_code, rule.intent)}"
                    f" → {team.name}）"
                ),
            )
        )
        assigned(session, user_id=assignee.id, at=now)
        return assignee
    return None


def assigned(session: Session, *, user_id: int, at: datetime) -> None:
    """Note that ``user_id`` was given an inquiry at ``at`` (by a rule or a colleague): the
    tie-break among equally busy members prefers whoever waited longest since."""
    session.execute(_TOUCH_MEMBER, {"member_id": user_id, "when": at})
