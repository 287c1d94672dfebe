"""Teams and routing rules (分配规则): what a rule is, and their administration, every change
audited in ``routing_event`` with who made it. Administrators only.

A rule sends the inquiries of a province, optionally one of its cities, optionally an intent, to
a team (a named group of active staff and managers); one rule per scope. ``dashboard.routing``
applies the rules when an inquiry is submitted, and re-exports these functions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from dashboard import accounts, regions
from dashboard.accounts import STAFF_ROLES
from dashboard.errors import FormInvalid, NotAllowed, NotFound
from models import (
    ANY,
    INTENT_LABELS,
    ROUTING_ACTION_LABELS,
    Inquiry,
    RoutingAction,
    RoutingEvent,
    RoutingRule,
    Status,
    Team,
    TeamMember,
    User,
    clean_text,
    length_problem,
    text_problem,
    utcnow,
)

#: Who can be in a team (and so be given inquiries).
MEMBER_ROLES = STAFF_ROLES
TEAM_NAME_MAX = 50

# Advisory lock key (``dialect.serialise``) of the administration of teams and rules. Distinct
# from ``administration._ADMIN_LOCK_KEY`` and from ``routing._TEAM_LOCK_BASE`` + a team's id.
_ADMIN_LOCK_KEY = 0x52_0A7E_0000


# --------------------------------------------------------------------------------------------
# Describing rules


def specificity(city_code: str, intent: str) -> int:
    """How specific a rule's scope is: a city counts more than an intent (province + city beats
    province + intent), and both together most."""
    return (2 if city_code else 0) + (1 if intent else 0)


def scope_label(province_code: str, city_code: str = ANY, intent: str = ANY) -> str:
    """A rule's scope in Chinese: ``陕西省 · 西安市 · 我要投保`` / ``陕西省 · 全部城市 · 全部询保内容``."""
    return " · ".join(
        (
            regions.name(province_code) or province_code,
            regions.name(city_code) or city_code if city_code else "全部城市",
            INTENT_LABELS.get(intent, intent) if intent else "全部询保内容",
        )
    )


@dataclass(frozen=True)
class Member:
    user_id: int
    label: str
    #: Active staff member or manager: only they are given inquiries.
    available: bool
    #: Their open (已提交) inquiries.
    open_count: int
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    members: tuple[Member, ...]
    #: Scopes of the rules that send inquiries to this team.
    rules: tuple[str, ...]


@dataclass(frozen=True)
class RuleView:
    id: int
    province_code: str
    city_code: str
    intent: str
    team_id: int
    team_name: str
    updated_at: datetime

    @property
    def scope(self) -> str:
        return scope_label(self.province_code, self.city_code, self.intent)


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str
    action: str
    detail: str


# --------------------------------------------------------------------------------------------
# Administration (分配规则): administrators only, every change audited


#: The administrator check of every function here. One change to the set-up at a time: the
#: checks a change makes (a scope already taken, a team still used by rules) then hold until it
#: commits.
_require_admin = functools.partial(accounts.require_admin, lock_key=_ADMIN_LOCK_KEY)


def _audit(session: Session, actor: User, action: RoutingAction, detail: str) -> None:
    session.add(
        RoutingEvent(actor_id=actor.id, at=utcnow(), action=action.value, detail=detail[:500])
    )


def _team(session: Session, team_id: int | None) -> Team:
    team = session.get(Team, team_id) if team_id is not None else None
    if team is None:
        raise NotFound("找不到该团队，可能已被删除，请刷新后重试")
    return team


def member_label(user: User) -> str:
    """A person as the page lists them: the display name, with the username when they differ."""
    return user.label if user.label == user.username else f"{user.label}（{user.username}）"


def teams(session: Session, *, actor: User) -> list[TeamView]:
    """Every team with its members (their open inquiries, whether they can be given more) and
    the rules that use it, by name."""
    _require_admin(session, actor)
    open_counts = (
        select(Inquiry.assignee_id, sa.func.count().label("n"))
        .where(
            Inquiry.status == Status.submitted.value,
            Inquiry.assignee_id.in_(select(TeamMember.user_id)),
        )
        .group_by(Inquiry.assignee_id)
        .subquery()
    )
    rows = session.exec(
        select(TeamMember, User, sa.func.coalesce(open_counts.c.n, 0))
        .join(User, User.id == TeamMember.user_id)
        .join(open_counts, open_counts.c.assignee_id == User.id, isouter=True)
        .order_by(User.username)
    ).all()
    members: dict[int, list[Member]] = {}
    for membership, user, n in rows:
        members.setdefault(membership.team_id, []).append(
            Member(
                user_id=user.id,
                label=member_label(user),
                available=user.is_active and user.role in MEMBER_ROLES,
                open_count=int(n),
                last_assigned_at=membership.last_assigned_at,
            )
        )
    scopes: dict[int, list[str]] = {}
    for rule in session.exec(select(RoutingRule).order_by(RoutingRule.id)).all():
        scopes.setdefault(rule.team_id, []).append(
            scope_label(rule.province_code, rule.city_code, rule.intent)
        )
    return [
        TeamView(
            id=team.id,
            name=team.name,
            members=tuple(members.get(team.id, ())),
            rules=tuple(scopes.get(team.id, ())),
        )
        for team in session.exec(select(Team).order_by(Team.name)).all()
    ]


def staff(session: Session, *, actor: User) -> list[User]:
    """Active staff and managers: who can be added to a team."""
    _require_admin(session, actor)
    return accounts.staff_members(session)


def create_team(session: Session, *, actor: User, name: str) -> Team:
    """A new team (no members yet). FormInvalid naming 团队名称 when the name is empty, too
    long, holds invisible characters or is taken."""
    actor = _require_admin(session, actor, write=True)
    cleaned = clean_text(name) or ""
    problem = (
        length_problem(cleaned, "团队名称", TEAM_NAME_MAX)
        or text_problem(cleaned, "团队名称")
        or ("" if cleaned else "请填写团队名称")
    )
    if problem:
        raise FormInvalid({"name": problem})
    if session.exec(select(Team.id).where(Team.name == cleaned)).first() is not None:
        raise FormInvalid({"name": f"团队名称“{cleaned}”已存在"})
    team = Team(name=cleaned, created_at=utcnow())
    session.add(team)
    session.flush()
    _audit(session, actor, RoutingAction.team_created, f"团队：{cleaned}")
    return team


def delete_team(session: Session, *, actor: User, team_id: int) -> None:
    """Delete a team and its memberships. NotAllowed while rules still send inquiries to it
    (they would have nowhere to go): those are changed or deleted first."""
    actor = _require_admin(session, actor, write=True)
    team = _team(session, team_id)
    used = session.exec(select(RoutingRule).where(RoutingRule.team_id == team.id)).all()
    if used:
        raise NotAllowed(
            f"团队“{team.name}”仍有 {len(used)} 条分配规则，请先修改或删除这些规则后再删除团队"
        )
    session.execute(sa.delete(TeamMember).where(TeamMember.team_id == team.id))
    session.delete(team)
    session.flush()
    _audit(session, actor, RoutingAction.team_deleted, f"团队：{team.name}")


def add_member(session: Session, *, actor: User, team_id: int, user_id: int) -> TeamMember:
    """Add an active staff member or manager to a team (FormInvalid when they are neither, or
    already in it)."""
    actor = _require_admin(session, actor, write=True)
    team = _team(session, team_id)
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.role not in MEMBER_ROLES:
        raise FormInvalid({"user_id": "团队成员必须是在职的业务人员或管理人员"})
    if session.get(TeamMember, (team.id, user.id)) is not None:
        raise FormInvalid({"user_id": f"{user.label} 已是团队“{team.name}”的成员"})
    # A newcomer waits as long as the colleague who waited longest in their other teams would:
    # the same person in two teams has one "last assigned" time.
    last = session.exec(
        select(sa.func.max(TeamMember.last_assigned_at)).where(TeamMember.user_id == user.id)
    ).first()
    member = TeamMember(team_id=team.id, user_id=user.id, added_at=utcnow(), last_assigned_at=last)
    session.add(member)
    session.flush()
    _audit(session, actor, RoutingAction.member_added, f"{team.name}：添加 {member_label(user)}")
    return member


def remove_member(session: Session, *, actor: User, team_id: int, user_id: int) -> None:
    """Take someone out of a team. The inquiries already theirs stay theirs."""
    actor = _require_admin(session, actor, write=True)
    team = _team(session, team_id)
    member = session.get(TeamMember, (team.id, user_id))
    if member is None:
        raise NotFound("该人员已不在团队中，请刷新后查看")
    user = session.get(User, user_id)
    session.delete(member)
    session.flush()
    who = member_label(user) if user else str(user_id)
    _audit(session, actor, RoutingAction.member_removed, f"{team.name}：移除 {who}")


def rules(session: Session, *, actor: User) -> list[RuleView]:
    """Every rule with its team's name: by province, then most specific first."""
    _require_admin(session, actor)
    rows = session.exec(select(RoutingRule, Team).join(Team, Team.id == RoutingRule.team_id)).all()
    views = [
        RuleView(
            id=rule.id,
            province_code=rule.province_code,
            city_code=rule.city_code,
            intent=rule.intent,
            team_id=team.id,
            team_name=team.name,
            updated_at=rule.updated_at,
        )
        for rule, team in rows
    ]
    order = {r.code: i for i, r in enumerate(regions.provinces())}
    return sorted(
        views,
        key=lambda r: (
            order.get(r.province_code, len(order)),
            -specificity(r.city_code, r.intent),
            r.city_code,
            r.intent,
        ),
    )


def _scope(province_code: str | None, city_code: str | None, intent: str | None) -> tuple:
    """The scope as stored, or FormInvalid naming the field: a real province, one of its cities
    or none, one of the intents or none."""
    province = regions.get(province_code)
    if province is None or province.level != "province":
        raise FormInvalid({"province_code": "请选择省/市"})
    if city_code and city_code not in {c.code for c in regions.cities(province.code)}:
        raise FormInvalid({"city_code": f"市不属于{province.name}，请重新选择"})
    if intent and intent not in INTENT_LABELS:
        raise FormInvalid({"intent": "请选择询保内容"})
    return province.code, city_code or ANY, intent or ANY


def add_rule(
    session: Session,
    *,
    actor: User,
    province_code: str | None,
    team_id: int | None,
    city_code: str | None = None,
    intent: str | None = None,
) -> RoutingRule:
    """A rule: inquiries from this province (this city; with this intent) go to ``team_id``.
    One rule per scope: FormInvalid when the scope already has one (change that one instead)."""
    actor = _require_admin(session, actor, write=True)
    province, city, wanted = _scope(province_code, city_code, intent)
    if team_id is None:
        raise FormInvalid({"team_id": "请选择团队"})
    team = _team(session, team_id)
    taken = session.exec(
        select(RoutingRule, Team)
        .join(Team, Team.id == RoutingRule.team_id)
        .where(
            RoutingRule.province_code == province,
            RoutingRule.city_code == city,
            RoutingRule.intent == wanted,
        )
    ).first()
    scope = scope_label(province, city, wanted)
    if taken is not None:
        raise FormInvalid(
            {"scope": f"已有相同范围的规则：{scope} → {taken[1].name}，请直接修改该规则"}
        )
    now = utcnow()
    rule = RoutingRule(
        province_code=province,
        city_code=city,
        intent=wanted,
        team_id=team.id,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    _audit(session, actor, RoutingAction.rule_created, f"{scope} → {team.name}")
    return rule


def _rule(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("找不到该规则，可能已被删除，请刷新后查看")
    return rule


def change_rule(session: Session, *, actor: User, rule_id: int, team_id: int | None) -> RoutingRule:
    """Send a rule's inquiries to another team from now on (assigned inquiries stay)."""
    actor = _require_admin(session, actor, write=True)
    rule = _rule(session, rule_id)
    if team_id is None:
        raise FormInvalid({"team_id": "请选择团队"})
    team = _team(session, team_id)
    before = _team(session, rule.team_id)
    if before.id == team.id:
        raise FormInvalid({"team_id": f"该规则已分配给团队“{team.name}”"})
    rule.team_id = team.id
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    scope = scope_label(rule.province_code, rule.city_code, rule.intent)
    _audit(session, actor, RoutingAction.rule_changed, f"{scope}：{before.name} → {team.name}")
    return rule


def delete_rule(session: Session, *, actor: User, rule_id: int) -> None:
    """Delete a rule: its inquiries fall to a less specific rule, or to the shared queue."""
    actor = _require_admin(session, actor, write=True)
    rule = _rule(session, rule_id)
    team = session.get(Team, rule.team_id)
    scope = scope_label(rule.province_code, rule.city_code, rule.intent)
    session.delete(rule)
    session.flush()
    _audit(session, actor, RoutingAction.rule_deleted, f"{scope} → {team.name if team else ''}")


def history(session: Session, *, actor: User, limit: int = 100) -> list[Change]:
    """The latest changes to teams and rules, newest first, with who made them."""
    _require_admin(session, actor)
    rows = session.exec(
        select(RoutingEvent, User)
        .join(User, User.id == RoutingEvent.actor_id, isouter=True)
        .order_by(RoutingEvent.at.desc(), RoutingEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        Change(
            at=event.at,
            actor=user.label if user else "",
            action=ROUTING_ACTION_LABELS.get(event.action, event.action),
            detail=event.detail,
        )
        for event, user in rows
    ]
