"""Routing on submit (``dashboard.routing``), on both backends: the most specific rule's team,
its least busy active member (ties: whoever waited longest), the shared queue when nothing
matches, the audit trail, the mail to the assignee, the rules' administration and its audit,
and balanced choices when submits race."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import select

from dashboard import accounts, db, inquiries, routing, routing_rules
from dashboard.errors import FormInvalid, NotAllowed, NotFound
from models import Inquiry, InquiryEvent, Notification, RoutingEvent, TeamMember, utcnow
from tests.conftest import PASSWORD, valid_form

SHAANXI, XIAN, BAOJI = "610000", "610100", "610300"
XIAN_DISTRICT, BAOJI_DISTRICT = "610113", "610302"
GUANGDONG = "440000"


def _form(city=XIAN, district=XIAN_DISTRICT, province=SHAANXI, **overrides):
    return valid_form(province_code=province, city_code=city, district_code=district, **overrides)


def _staff(engine, *names, role="staff", email=None):
    out = []
    with db.session_scope(engine) as s:
        for name in names:
            out.append(
                accounts.create_user(
                    s, username=name, password=PASSWORD, role=role, display_name=name.upper()
                )
            )
            if email:
                out[-1].email = f"{name}@{email}"
                s.add(out[-1])
    return out


def _team(engine, admin, name, members):
    with db.session_scope(engine) as s:
        team = routing_rules.create_team(s, actor=admin, name=name)
        for member in members:
            routing_rules.add_member(s, actor=admin, team_id=team.id, user_id=member.id)
    return team


def _rule(engine, admin, team, province=SHAANXI, city=None, intent=None):
    with db.session_scope(engine) as s:
        return routing_rules.add_rule(
            s, actor=admin, province_code=province, city_code=city, intent=intent, team_id=team.id
        )


def _submit(engine, company, form=None) -> Inquiry:
    with db.session_scope(engine) as s:
        return inquiries.submit(s, actor=company, form=form or _form())


def _assignee(engine, inquiry_id) -> int | None:
    with db.session_scope(engine, write=False) as s:
        return s.get(Inquiry, inquiry_id).assignee_id


# --------------------------------------------------------------------------------------------
# The choice


def test_a_matching_rule_gives_the_inquiry_to_the_member_with_fewest_open(engine, users):
    busy, free = _staff(engine, "busy", "free")
    team = _team(engine, users["admin"], "西北团队", [busy, free])
    _rule(engine, users["admin"], team)
    with db.session_scope(engine) as s:
        for _ in range(2):  # two open inquiries already busy's (no rule yet for Guangdong)
            other = inquiries.submit(s, actor=users["company"], form=valid_form())
            inquiries.assign(s, actor=users["staff"], inquiry_id=other.id, assignee_id=busy.id)
    inquiry = _submit(engine, users["company"])
    assert inquiry.assignee_id == free.id
    assert _assignee(engine, inquiry.id) == free.id


def test_completed_inquiries_do_not_count_as_open(engine, users):
    first, second = _staff(engine, "first", "second")
    team = _team(engine, users["admin"], "西北团队", [first, second])
    _rule(engine, users["admin"], team)
    done = _submit(engine, users["company"])  # first: never assigned, lowest id
    assert done.assignee_id == first.id
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=first, inquiry_ids=[done.id], note="已联系")
    # Both have nothing open now; second has waited longer (never assigned).
    assert _submit(engine, users["company"]).assignee_id == second.id
    assert _submit(engine, users["company"]).assignee_id == first.id


def test_equally_busy_members_take_turns_by_who_waited_longest(engine, users):
    members = _staff(engine, "a1", "a2", "a3")
    team = _team(engine, users["admin"], "西北团队", members)
    _rule(engine, users["admin"], team)
    given = []
    for _ in range(6):
        inquiry = _submit(engine, users["company"])
        given.append(inquiry.assignee_id)
        with db.session_scope(engine) as s:  # closed at once: nobody is busier than another
            inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note="好")
    ids = [m.id for m in members]
    assert given == ids + ids


def test_a_manual_assignment_counts_as_the_last_assignment(engine, users):
    a, b = _staff(engine, "a", "b")
    team = _team(engine, users["admin"], "西北团队", [a, b])
    _rule(engine, users["admin"], team)
    with db.session_scope(engine) as s:
        other = inquiries.submit(s, actor=users["company"], form=valid_form())
        inquiries.assign(s, actor=users["staff"], inquiry_id=other.id, assignee_id=a.id)
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[other.id], note="好")
    assert _submit(engine, users["company"]).assignee_id == b.id


def test_inactive_members_and_members_no_longer_staff_are_skipped(engine, users):
    gone, promoted, left = _staff(engine, "gone", "promoted", "left")
    team = _team(engine, users["admin"], "西北团队", [gone, promoted, left])
    _rule(engine, users["admin"], team)
    with db.session_scope(engine) as s:
        accounts.set_active(s, actor=users["admin"], user_id=gone.id, active=False)
        accounts.set_role(s, actor=users["admin"], user_id=promoted.id, role="admin")
    for _ in range(3):
        assert _submit(engine, users["company"]).assignee_id == left.id


@pytest.mark.parametrize(
    ("city", "district", "intent", "expected"),
    [
        (XIAN, XIAN_DISTRICT, "insure", "省市内容"),
        (XIAN, XIAN_DISTRICT, "buyer_credit", "省市"),
        (BAOJI, BAOJI_DISTRICT, "insure", "省内容"),
        (BAOJI, BAOJI_DISTRICT, "buyer_credit", "全省"),
    ],
)
def test_the_most_specific_rule_wins(engine, users, city, district, intent, expected):
    admin = users["admin"]
    names = ("全省", "省内容", "省市", "省市内容")
    members = dict(zip(names, _staff(engine, "p", "pi", "pc", "pci"), strict=True))
    teams = {name: _team(engine, admin, name, [members[name]]) for name in names}
    _rule(engine, admin, teams["全省"])
    _rule(engine, admin, teams["省内容"], intent="insure")
    _rule(engine, admin, teams["省市"], city=XIAN)
    _rule(engine, admin, teams["省市内容"], city=XIAN, intent="insure")
    other_needs = "其他" if intent == "other" else None
    form = _form(city=city, district=district, intent=intent, other_needs=other_needs)
    assert _submit(engine, users["company"], form).assignee_id == members[expected].id


def test_a_team_with_nobody_available_passes_the_inquiry_to_the_next_rule(engine, users):
    city_member, province_member = _staff(engine, "citywise", "provincewise")
    admin = users["admin"]
    city_team = _team(engine, admin, "西安团队", [city_member])
    _rule(engine, admin, city_team, city=XIAN)
    _rule(engine, admin, _team(engine, admin, "陕西团队", [province_member]))
    with db.session_scope(engine) as s:
        accounts.set_active(s, actor=admin, user_id=city_member.id, active=False)
    inquiry = _submit(engine, users["company"])
    assert inquiry.assignee_id == province_member.id


def test_no_matching_rule_leaves_the_inquiry_in_the_shared_queue(engine, users):
    (member,) = _staff(engine, "member")
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [member]))
    inquiry = _submit(engine, users["company"], valid_form())  # Guangdong
    assert inquiry.assignee_id is None
    with db.session_scope(engine, write=False) as s:
        actions = [e.action for e, _ in inquiries.events(s, actor=member, inquiry_id=inquiry.id)]
    assert actions == ["created", "submitted"]


def test_an_empty_team_leaves_the_inquiry_in_the_shared_queue(engine, users):
    _rule(engine, users["admin"], _team(engine, users["admin"], "空团队", []))
    assert _submit(engine, users["company"]).assignee_id is None


def test_submitting_a_saved_draft_is_routed_too(engine, users):
    (member,) = _staff(engine, "member")
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [member]))
    with db.session_scope(engine) as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=_form())
        assert draft.assignee_id is None  # a draft is nobody's
        sent = inquiries.submit(
            s, actor=users["company"], form=_form(), inquiry_id=draft.id, expected_version=1
        )
    assert sent.assignee_id == member.id


# --------------------------------------------------------------------------------------------
# What it leaves behind


def test_the_automatic_assignment_is_in_the_audit_trail_naming_the_rule(engine, users):
    (member,) = _staff(engine, "member")
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [member]), city=XIAN)
    inquiry = _submit(engine, users["company"])
    with db.session_scope(engine, write=False) as s:
        trail = inquiries.events(s, actor=member, inquiry_id=inquiry.id)
    assert [e.action for e, _ in trail] == ["created", "submitted", "assigned"]
    event, actor_name = trail[-1]
    assert event.actor_id is None and actor_name == ""  # the system, not the company
    assert event.from_status == event.to_status == "submitted"
    assert event.note.startswith("自动分配")
    assert "MEMBER" in event.note
    assert "陕西省 · 西安市 · 全部询保内容 → 西北团队" in event.note


def test_the_assignee_is_mailed_and_the_new_inquiry_subscribers_are_not(engine, users):
    (member,) = _staff(engine, "member", email="insurer.example.com")
    with db.session_scope(engine) as s:
        subscriber = accounts.get_by_username(s, "staff2")
        subscriber.email, subscriber.notify_new_inquiries = "staff2@insurer.example.com", True
        s.add(subscriber)
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [member]))
    routed = _submit(engine, users["company"])
    unrouted = _submit(engine, users["company"], valid_form())
    with db.session_scope(engine, write=False) as s:
        mails = s.exec(select(Notification).order_by(Notification.id)).all()
    assert [(m.inquiry_id, m.kind, m.recipient) for m in mails] == [
        (routed.id, "assigned", "member@insurer.example.com"),
        (unrouted.id, "new_inquiry", "staff2@insurer.example.com"),
    ]


def test_my_open_inquiries_are_counted_for_the_preset(engine, users):
    from dashboard import queries

    (member,) = _staff(engine, "member")
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [member]))
    sent = [_submit(engine, users["company"]) for _ in range(3)]
    _submit(engine, users["company"], valid_form())  # the shared queue
    with db.session_scope(engine) as s:
        inquiries.complete(s, actor=member, inquiry_ids=[sent[0].id], note="好")
    mine = queries.InquiryFilter(statuses=("submitted",), assignee="me")
    with db.session_scope(engine, write=False) as s:
        assert queries.count(s, mine, actor=member) == 2
        assert queries.count(s, mine, actor=users["staff"]) == 0


# --------------------------------------------------------------------------------------------
# Administration


def test_rule_and_team_changes_are_audited_with_who_made_them(engine, users):
    admin = users["admin"]
    (member,) = _staff(engine, "member")
    team = _team(engine, admin, "西北团队", [member])
    other = _team(engine, admin, "华东团队", [])
    rule = _rule(engine, admin, team, city=XIAN, intent="insure")
    with db.session_scope(engine) as s:
        routing_rules.change_rule(s, actor=admin, rule_id=rule.id, team_id=other.id)
        routing_rules.delete_rule(s, actor=admin, rule_id=rule.id)
        routing_rules.remove_member(s, actor=admin, team_id=team.id, user_id=member.id)
        routing_rules.delete_team(s, actor=admin, team_id=team.id)
    with db.session_scope(engine, write=False) as s:
        changes = routing_rules.history(s, actor=admin)
        stored = s.exec(select(RoutingEvent)).all()
    assert all(e.actor_id == admin.id for e in stored)
    scope = "陕西省 · 西安市 · 我要投保"
    assert [(c.action, c.detail) for c in reversed(changes)] == [
        ("新建团队", "团队：西北团队"),
        ("添加成员", "西北团队：添加 MEMBER（member）"),
        ("新建团队", "团队：华东团队"),
        ("新增规则", f"{scope} → 西北团队"),
        ("修改规则", f"{scope}：西北团队 → 华东团队"),
        ("删除规则", f"{scope} → 华东团队"),
        ("移除成员", "西北团队：移除 MEMBER（member）"),
        ("删除团队", "团队：西北团队"),
    ]
    assert {c.actor for c in changes} == {"ADMIN"}


def test_rules_are_listed_by_province_most_specific_first(engine, users):
    admin = users["admin"]
    team = _team(engine, admin, "团队", [])
    _rule(engine, admin, team)
    _rule(engine, admin, team, province=GUANGDONG)
    _rule(engine, admin, team, intent="other")
    _rule(engine, admin, team, city=XIAN)
    _rule(engine, admin, team, city=XIAN, intent="insure")
    with db.session_scope(engine, write=False) as s:
        listed = [r.scope for r in routing_rules.rules(s, actor=admin)]
    assert listed == [
        "广东省 · 全部城市 · 全部询保内容",
        "陕西省 · 西安市 · 我要投保",
        "陕西省 · 西安市 · 全部询保内容",
        "陕西省 · 全部城市 · 我有其他需求",
        "陕西省 · 全部城市 · 全部询保内容",
    ]  # provinces in the catalogue's order


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"province_code": None}, "province_code", "请选择省/市"),
        ({"province_code": XIAN}, "province_code", "请选择省/市"),
        ({"city_code": "440300"}, "city_code", "市不属于陕西省"),
        ({"intent": "everything"}, "intent", "请选择询保内容"),
        ({"team_id": None}, "team_id", "请选择团队"),
    ],
)
def test_a_rule_needs_a_real_scope_and_a_team(engine, users, values, field, message):
    team = _team(engine, users["admin"], "团队", [])
    args = {"province_code": SHAANXI, "team_id": team.id} | values
    with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
        routing_rules.add_rule(s, actor=users["admin"], **args)
    assert list(err.value.errors) == [field] and message in err.value.errors[field]


def test_a_scope_has_one_rule(engine, users):
    team = _team(engine, users["admin"], "团队", [])
    _rule(engine, users["admin"], team, city=XIAN)
    with pytest.raises(FormInvalid) as err:
        _rule(engine, users["admin"], team, city=XIAN)
    assert "已有相同范围的规则：陕西省 · 西安市 · 全部询保内容 → 团队" in err.value.errors["scope"]


def test_team_names_are_checked_and_unique(engine, users):
    _team(engine, users["admin"], "西北团队", [])
    for name, message in [
        ("  ", "请填写团队名称"),
        ("西北团队", "团队名称“西北团队”已存在"),
        ("长" * 51, "团队名称不能超过50个字符"),
        ("西北\u200b团队", "团队名称包含不可见字符"),
    ]:
        with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
            routing_rules.create_team(s, actor=users["admin"], name=name)
        assert message in err.value.errors["name"]


def test_a_team_member_must_be_active_staff_once(engine, users):
    admin = users["admin"]
    team = _team(engine, admin, "团队", [users["staff"]])
    for user, message in [
        (users["company"], "必须是在职的业务人员或管理人员"),
        (users["admin"], "必须是在职的业务人员或管理人员"),
        (users["staff"], "已是团队“团队”的成员"),
    ]:
        with pytest.raises(FormInvalid) as err, db.session_scope(engine) as s:
            routing_rules.add_member(s, actor=admin, team_id=team.id, user_id=user.id)
        assert message in err.value.errors["user_id"]
    with db.session_scope(engine) as s:
        routing_rules.add_member(s, actor=admin, team_id=team.id, user_id=users["manager"].id)
        listed = routing_rules.teams(s, actor=admin)
    assert [(m.label, m.available) for m in listed[0].members] == [
        ("MANAGER（manager）", True),
        ("STAFF（staff）", True),
    ]


def test_a_team_that_rules_still_use_cannot_be_deleted(engine, users):
    team = _team(engine, users["admin"], "西北团队", [])
    _rule(engine, users["admin"], team)
    with pytest.raises(NotAllowed, match="仍有 1 条分配规则"), db.session_scope(engine) as s:
        routing_rules.delete_team(s, actor=users["admin"], team_id=team.id)


def test_a_deleted_rule_or_team_says_so(engine, users):
    with pytest.raises(NotFound), db.session_scope(engine) as s:
        routing_rules.delete_rule(s, actor=users["admin"], rule_id=999)
    with pytest.raises(NotFound), db.session_scope(engine) as s:
        routing_rules.add_member(s, actor=users["admin"], team_id=999, user_id=users["staff"].id)


ADMIN_CALLS = {
    "teams": lambda s, a, t: routing_rules.teams(s, actor=a),
    "rules": lambda s, a, t: routing_rules.rules(s, actor=a),
    "history": lambda s, a, t: routing_rules.history(s, actor=a),
    "staff": lambda s, a, t: routing_rules.staff(s, actor=a),
    "create_team": lambda s, a, t: routing_rules.create_team(s, actor=a, name="新团队"),
    "add_member": lambda s, a, t: routing_rules.add_member(s, actor=a, team_id=t, user_id=a.id),
    "add_rule": lambda s, a, t: routing_rules.add_rule(
        s, actor=a, province_code=SHAANXI, team_id=t
    ),
    "delete_team": lambda s, a, t: routing_rules.delete_team(s, actor=a, team_id=t),
}


@pytest.mark.parametrize("call", list(ADMIN_CALLS))
@pytest.mark.parametrize("who", ["company", "staff", "manager"])
def test_only_administrators_see_or_change_routing(engine, users, call, who):
    team = _team(engine, users["admin"], "团队", [])
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        ADMIN_CALLS[call](s, users[who], team.id)


def test_a_deactivated_administrator_changes_nothing(engine, users):
    with db.session_scope(engine) as s:
        second = accounts.create_user(s, username="admin2", password=PASSWORD, role="admin")
        accounts.set_active(s, actor=second, user_id=users["admin"].id, active=False)
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        routing_rules.create_team(s, actor=users["admin"], name="团队")


# --------------------------------------------------------------------------------------------
# Racing submits


def test_concurrent_submits_to_one_team_end_balanced(engine, users):
    """Ten submits at once to a team of two: five each. (Submits also queue on the report
    rollup's rows, which orders them anyway today; the test below races the choice alone.)"""
    a, b = _staff(engine, "a", "b")
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [a, b]))
    with db.session_scope(engine) as s:
        drafts = [
            inquiries.save_draft(s, actor=users["company"], form=_form()).id for _ in range(10)
        ]
    barrier = threading.Barrier(len(drafts))

    def submit(draft_id):
        barrier.wait(timeout=30)
        with db.session_scope(engine) as s:
            return inquiries.submit(
                s, actor=users["company"], form=_form(), inquiry_id=draft_id
            ).assignee_id

    with ThreadPoolExecutor(len(drafts)) as pool:
        given = list(pool.map(submit, drafts))
    assert Counter(given) == {a.id: 5, b.id: 5}
    with db.session_scope(engine, write=False) as s:
        stored = s.exec(select(Inquiry.assignee_id).where(Inquiry.id.in_(drafts))).all()
        routed = s.exec(select(InquiryEvent).where(InquiryEvent.action == "assigned")).all()
        touched = s.exec(select(TeamMember.last_assigned_at)).all()
    assert Counter(stored) == Counter(given)
    assert len(routed) == 10
    assert all(t is not None and utcnow() - t < timedelta(minutes=5) for t in touched)


def test_concurrent_choices_are_serialised_per_team(engine, users):
    """The choice alone, ten at once (``route`` on inquiries submitted before the rule existed):
    without the team lock, the transactions would all see two idle members and pick the same."""
    a, b = _staff(engine, "a", "b")
    waiting = [_submit(engine, users["company"]).id for _ in range(10)]
    _rule(engine, users["admin"], _team(engine, users["admin"], "西北团队", [a, b]))
    barrier = threading.Barrier(len(waiting))

    def choose(inquiry_id):
        barrier.wait(timeout=30)
        with db.session_scope(engine) as s:
            inquiry = s.get(Inquiry, inquiry_id)
            return routing.route(s, actor=users["company"], inquiry=inquiry, now=utcnow()).id

    with ThreadPoolExecutor(len(waiting)) as pool:
        given = list(pool.map(choose, waiting))
    assert Counter(given) == {a.id: 5, b.id: 5}
