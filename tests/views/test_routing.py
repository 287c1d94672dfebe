"""分配规则 in AppTest: an administrator builds a team, adds a member and a rule, and the next
inquiry from that region lands with the member; refusals show under the pressed button; changes
are listed; nobody else reaches the page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import db, inquiries, routing_rules
from dashboard.settings import ROOT
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import logged_in_as, login

SHAANXI, XIAN = "610000", "610100"


def _page(app: AppTest) -> AppTest:
    login(app, "admin", PASSWORD)
    app.switch_page("views/routing.py").run()
    assert not app.exception
    return app


def _click(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click().run()
    assert not app.exception
    return app


def _frame(app: AppTest, column: str):
    """The first table with ``column`` (the rules: 团队, a team's members: 成员, changes: 内容)."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def _team(name: str, users, *members) -> int:
    with db.session_scope() as s:
        team = routing_rules.create_team(s, actor=users["admin"], name=name)
        for member in members:
            routing_rules.add_member(s, actor=users["admin"], team_id=team.id, user_id=member.id)
    return team.id


def test_an_admin_sets_up_a_team_and_a_rule_and_the_next_inquiry_lands_there(app, users):
    _page(app)
    assert [t.value for t in app.title] == ["分配规则"]
    assert "还没有分配规则：所有新提交的询保申请都进入公共队列。" in [i.value for i in app.info]

    app.text_input(key="routing_team_name").input("西北业务组")
    _click(app, "routing_create_team")
    assert [s.value for s in app.success] == ["已新建团队“西北业务组”"]
    assert app.text_input(key="routing_team_name").value == ""
    with db.session_scope(write=False) as s:
        (team,) = routing_rules.teams(s, actor=users["admin"])

    app.selectbox(key=f"routing_add_{team.id}").set_value(users["staff2"].id).run()
    _click(app, f"routing_add_button_{team.id}")
    assert [s.value for s in app.success] == ["已将 STAFF2（staff2） 加入团队“西北业务组”"]
    members = _frame(app, "成员")
    assert list(members["成员"]) == ["STAFF2（staff2）"]
    assert list(members["状态"]) == ["可分配"]

    app.selectbox(key="routing_province").set_value(SHAANXI).run()
    app.selectbox(key="routing_city").set_value(XIAN).run()
    app.selectbox(key="routing_team").set_value(team.id).run()
    _click(app, "routing_add_rule")
    assert [s.value for s in app.success] == ["已新增规则：陕西省 · 西安市 · 全部询保内容"]
    rules = _frame(app, "可分配成员")
    assert rules.iloc[0][["省/市", "市", "询保内容", "团队", "可分配成员"]].tolist() == [
        "陕西省",
        "西安市",
        "全部",
        "西北业务组",
        1,
    ]

    form = valid_form(province_code=SHAANXI, city_code=XIAN, district_code="610113")
    with db.session_scope() as s:
        inquiry = inquiries.submit(s, actor=users["company"], form=form)
    assert inquiry.assignee_id == users["staff2"].id

    app.run()  # the member's open inquiry is counted; the changes are listed
    assert list(_frame(app, "成员")["在办"]) == [1]
    history = _frame(app, "内容")
    assert list(history["操作"]) == ["新增规则", "添加成员", "新建团队"]
    assert set(history["操作人"]) == {"ADMIN"}


def test_a_refusal_shows_under_the_button_that_was_pressed(app, users):
    team_id = _team("西北业务组", users)
    with db.session_scope() as s:
        routing_rules.add_rule(s, actor=users["admin"], province_code=SHAANXI, team_id=team_id)
    _page(app)
    app.selectbox(key="routing_province").set_value(SHAANXI).run()
    app.selectbox(key="routing_team").set_value(team_id).run()
    _click(app, "routing_add_rule")
    (error,) = app.error
    assert "已有相同范围的规则：陕西省 · 全部城市 · 全部询保内容 → 西北业务组" in error.value
    # the warning about a team nobody can take inquiries for, and the team's delete refused
    assert any("没有可分配的成员" in w.value for w in app.warning)
    _click(app, f"routing_delete_team_{team_id}")
    (error,) = app.error
    assert "仍有 1 条分配规则" in error.value


def test_a_rule_is_moved_to_another_team_then_deleted(app, users):
    first = _team("西北业务组", users, users["staff"])
    second = _team("华东业务组", users, users["staff2"])
    with db.session_scope() as s:
        rule = routing_rules.add_rule(s, actor=users["admin"], province_code=SHAANXI, team_id=first)
    _page(app)
    app.selectbox(key="routing_edit_rule").set_value(rule.id)
    app.selectbox(key="routing_edit_team").set_value(second).run()
    _click(app, "routing_change_rule")
    assert [s.value for s in app.success] == [
        "已将规则 陕西省 · 全部城市 · 全部询保内容 → 西北业务组 改为分配给团队“华东业务组”"
    ]
    assert list(_frame(app, "可分配成员")["团队"]) == ["华东业务组"]
    _click(app, "routing_delete_rule")
    assert [s.value for s in app.success] == [
        "已删除规则 陕西省 · 全部城市 · 全部询保内容 → 华东业务组"
    ]
    assert not any("可分配成员" in d.value.columns for d in app.dataframe)


def test_removing_a_member_and_deleting_an_unused_team(app, users):
    team_id = _team("西北业务组", users, users["staff"])
    _page(app)
    app.selectbox(key=f"routing_remove_{team_id}").set_value(users["staff"].id).run()
    _click(app, f"routing_remove_button_{team_id}")
    assert [s.value for s in app.success] == ["已将 STAFF（staff） 移出团队“西北业务组”"]
    _click(app, f"routing_delete_team_{team_id}")
    assert "还没有团队。" in [i.value for i in app.info]
    assert [t.value for t in app.toast] == ["已删除团队“西北业务组”"]


@pytest.mark.parametrize("who", ["company", "staff", "manager"])
def test_nobody_but_an_administrator_sees_the_page(engine, users, who):
    page = AppTest.from_file(str(ROOT / "dashboard" / "views" / "routing.py"), default_timeout=30)
    page.session_state["auth"] = logged_in_as(users[who])
    page.run()
    assert [e.value for e in page.error] == ["您没有访问此页面的权限"]
    assert not page.title and not page.dataframe
