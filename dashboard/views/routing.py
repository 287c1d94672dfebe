"""分配规则 (role admin): the routing rules (province, city, intent → team), the teams and their
members, and the record of changes.

Thin: what a rule means, who can be in a team, the checks and the audit live in
``dashboard.routing``; this page reads widgets, calls one function per button and shows the
outcome right under that button (and, for a success, as a toast). Writes run in button callbacks,
which read the widgets' values at the click. Team and member names are user text: escaped in
markdown, plain in data frames.
"""

from __future__ import annotations

import streamlit as st

from dashboard import clock, db, regions, routing
from dashboard.views import common, outcome, widgets
from dashboard.views.routing_state import K, state
from dashboard.views.widgets import Column
from models import INTENT_LABELS

EXPLANATION = (
    "企业提交询保申请时，按匹配的规则交给对应团队中在办申请最少的成员（相同时交给最久未分配的成员）；"
    "停用的账号不参与分配。规则越具体越优先：省+市+询保内容 > 省+市 > 省+询保内容 > 省。"
    "团队中没有可分配的成员时，交给下一条匹配的规则；没有匹配的规则时，进入公共队列（未分配）。"
)

MEMBER_COLUMNS = (
    Column("成员", 200, lambda m: m.label),
    Column("状态", 90, lambda m: "可分配" if m.available else "停用，不参与分配"),
    Column(
        "在办", 60, lambda m: m.open_count, number=True, help="已分配给该成员、尚未完成的询保申请"
    ),
    Column("最近分配", 130, lambda m: clock.show(m.last_assigned_at)),
)
HISTORY_COLUMNS = (
    Column("时间", 130, lambda c: clock.show(c.at)),
    Column("操作", 90, lambda c: c.action),
    Column("操作人", 120, lambda c: c.actor),
    Column("内容", 480, lambda c: c.detail),
)


def _rule_columns(available: dict[int, int]) -> tuple[Column, ...]:
    """The rules table; ``available``: the number of members each team can assign to."""
    return (
        Column("省/市", 110, lambda r: regions.name(r.province_code)),
        Column("市", 110, lambda r: regions.name(r.city_code) if r.city_code else "全部"),
        Column("询保内容", 140, lambda r: INTENT_LABELS.get(r.intent, "全部")),
        Column("团队", 160, lambda r: r.team_name),
        Column("可分配成员", 90, lambda r: available.get(r.team_id, 0), number=True),
        Column("更新时间", 130, lambda r: clock.show(r.updated_at)),
    )


admin = common.admin_page("分配规则", EXPLANATION)


# --------------------------------------------------------------------------------------------
# Writes (button callbacks)


def _act(place: str, action, success: str) -> bool:
    """Run ``action(session, actor)`` for the administrator as the database holds them now, and
    keep the outcome for ``_show_result`` at ``place`` (``outcome.act``). True on success."""
    return outcome.act(state(), place, action, success, roles=("admin",))


def _add_rule() -> None:
    ss = st.session_state
    province, city, intent = ss.get(K + "province"), ss.get(K + "city"), ss.get(K + "intent")
    team_id = ss.get(K + "team")
    scope = routing.scope_label(province or "", city or "", intent or "")

    def action(session, actor):
        routing.add_rule(
            session,
            actor=actor,
            province_code=province,
            city_code=city or None,
            intent=intent or None,
            team_id=team_id,
        )

    _act("rule_new", action, f"已新增规则：{common.md_escape(scope)}")


def _change_rule(labels: dict[int, str], teams: dict[int, str]) -> None:
    ss = st.session_state
    rule_id, team_id = ss.get(K + "edit_rule"), ss.get(K + "edit_team")
    _act(
        "rule_edit",
        lambda s, actor: routing.change_rule(s, actor=actor, rule_id=rule_id, team_id=team_id),
        f"已将规则 {common.md_escape(labels.get(rule_id, ''))} 改为分配给团队"
        f"“{common.md_escape(teams.get(team_id, ''))}”",
    )


def _delete_rule(labels: dict[int, str]) -> None:
    rule_id = st.session_state.get(K + "edit_rule")
    _act(
        "rule_edit",
        lambda s, actor: routing.delete_rule(s, actor=actor, rule_id=rule_id),
        f"已删除规则 {common.md_escape(labels.get(rule_id, ''))}",
    )


def _create_team() -> None:
    name = st.session_state.get(K + "team_name", "")
    if _act(
        "team_new",
        lambda s, actor: routing.create_team(s, actor=actor, name=name),
        f"已新建团队“{common.md_escape((name or '').strip())}”",
    ):
        st.session_state[K + "team_name"] = ""


def _add_member(team: routing.TeamView, labels: dict[int, str]) -> None:
    user_id = st.session_state.get(K + f"add_{team.id}")
    _act(
        f"team_{team.id}",
        lambda s, actor: routing.add_member(s, actor=actor, team_id=team.id, user_id=user_id),
        f"已将 {common.md_escape(labels.get(user_id, ''))} 加入团队“{common.md_escape(team.name)}”",
    )


def _remove_member(team: routing.TeamView) -> None:
    user_id = st.session_state.get(K + f"remove_{team.id}")
    label = next((m.label for m in team.members if m.user_id == user_id), "")
    _act(
        f"team_{team.id}",
        lambda s, actor: routing.remove_member(s, actor=actor, team_id=team.id, user_id=user_id),
        f"已将 {common.md_escape(label)} 移出团队“{common.md_escape(team.name)}”",
    )


def _delete_team(team: routing.TeamView) -> None:
    _act(
        f"team_{team.id}",
        lambda s, actor: routing.delete_team(s, actor=actor, team_id=team.id),
        f"已删除团队“{common.md_escape(team.name)}”",
    )


def _show_result(place: str) -> None:
    """The last action's result, if it belongs here: under the button that was pressed (a
    success also as a toast, which is on screen whatever the scroll position). Shown once."""
    outcome.show(state(), place, toast_success=True)


# --------------------------------------------------------------------------------------------
# Drawing


def _load():
    with common.db_errors(), db.session_scope(write=False) as session:
        return (
            routing.teams(session, actor=admin),
            routing.rules(session, actor=admin),
            routing.staff(session, actor=admin),
            routing.history(session, actor=admin),
        )


def _rules_section(rules: list, teams: list) -> None:
    st.subheader("规则")
    available = {t.id: sum(m.available for m in t.members) for t in teams}
    if rules:
        widgets.table(rules, _rule_columns(available), key=K + "rules_table")
        idle = sorted({r.team_name for r in rules if not available.get(r.team_id)})
        if idle:
            st.warning(
                "以下团队没有可分配的成员，匹配其规则的询保申请将交给下一条匹配的规则或进入公共队列："
                + "、".join(common.md_escape(name) for name in idle)
            )
    else:
        st.info("还没有分配规则：所有新提交的询保申请都进入公共队列。")
    team_names = {t.id: t.name for t in teams}
    _new_rule(team_names)
    if rules:
        _edit_rule(rules, team_names)
    else:  # the last rule was just deleted: its result where its box was
        _show_result("rule_edit")


def _pick(where, label: str, choices: dict, placeholder: str, key: str):
    """A select of ``choices`` (value → label) with nothing chosen at first."""
    return where.selectbox(
        label,
        list(choices),
        format_func=choices.get,
        index=None,
        placeholder=placeholder,
        key=key,
    )


def _new_rule(team_names: dict[int, str]) -> None:
    with st.container(border=True):
        st.markdown("**新增规则**")
        if not team_names:
            st.caption("请先在下方新建团队。")
            _show_result("rule_new")
            return
        provinces = {r.code: r.name for r in regions.provinces()}
        c1, c2, c3, c4 = st.columns(4)
        province = _pick(c1, "省/市", provinces, "请选择省/市", K + "province")
        cities = {c.code: c.name for c in regions.cities(province)}
        if st.session_state.get(K + "city") not in ("", *cities):
            st.session_state[K + "city"] = ""
        widgets.choice_select(
            c2, "市", cities, key=K + "city", all_label="全部城市", disabled=not cities
        )
        widgets.choice_select(
            c3, "询保内容", INTENT_LABELS, key=K + "intent", all_label="全部询保内容"
        )
        _pick(c4, "团队", team_names, "请选择团队", K + "team")
        st.button("添加规则", type="primary", key=K + "add_rule", on_click=_add_rule)
        _show_result("rule_new")


def _edit_rule(rules: list, team_names: dict[int, str]) -> None:
    labels = {r.id: f"{r.scope} → {r.team_name}" for r in rules}
    with st.container(border=True):
        st.markdown("**修改或删除规则**")
        c1, c2 = st.columns([3, 2])
        c1.selectbox("规则", list(labels), format_func=labels.get, key=K + "edit_rule")
        c2.selectbox("改为团队", list(team_names), format_func=team_names.get, key=K + "edit_team")
        with st.container(horizontal=True):
            st.button(
                "修改团队", key=K + "change_rule", on_click=_change_rule, args=(labels, team_names)
            )
            st.button("删除规则", key=K + "delete_rule", on_click=_delete_rule, args=(labels,))
        _show_result("rule_edit")


def _teams_section(teams: list, staff: list) -> None:
    st.subheader("团队")
    with st.container(border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input(
            "团队名称",
            key=K + "team_name",
            placeholder=f"如 西北业务组，不超过{routing.TEAM_NAME_MAX}个字",
        )
        c2.button("新建团队", key=K + "create_team", on_click=_create_team, width="stretch")
        _show_result("team_new")
    if not teams:
        st.info("还没有团队。")
    staff_labels = {u.id: routing.member_label(u) for u in staff}
    for team in teams:
        _team(team, staff_labels)


def _team(team: routing.TeamView, staff_labels: dict[int, str]) -> None:
    with st.container(border=True, key=K + f"team_box_{team.id}"):
        st.markdown(f"**{common.md_escape(team.name)}**")
        if team.rules:
            st.caption("规则：" + "；".join(common.md_escape(s) for s in team.rules))
        else:
            st.caption("没有规则使用该团队")
        if team.members:
            widgets.table(team.members, MEMBER_COLUMNS, key=K + f"members_{team.id}")
        else:
            st.caption("还没有成员")
        members = {m.user_id for m in team.members}
        addable = {i: label for i, label in staff_labels.items() if i not in members}
        c1, c2, c3, c4 = st.columns([3, 1, 3, 1], vertical_alignment="bottom")
        _pick(c1, "添加成员", addable, "选择业务人员或管理人员", K + f"add_{team.id}")
        c2.button(
            "添加",
            key=K + f"add_button_{team.id}",
            on_click=_add_member,
            args=(team, addable),
            width="stretch",
        )
        current = {m.user_id: m.label for m in team.members}
        _pick(c3, "移除成员", current, "选择成员", K + f"remove_{team.id}")
        c4.button(
            "移除",
            key=K + f"remove_button_{team.id}",
            on_click=_remove_member,
            args=(team,),
            disabled=not current,
            width="stretch",
        )
        st.button("删除团队", key=K + f"delete_team_{team.id}", on_click=_delete_team, args=(team,))
        _show_result(f"team_{team.id}")


def _history_section(changes: list) -> None:
    with st.expander(f"变更记录（最近 {len(changes)} 条）"):
        if not changes:
            st.caption("还没有变更。")
            return
        widgets.table(changes, HISTORY_COLUMNS, key=K + "history")


# --------------------------------------------------------------------------------------------
# The page

team_views, rule_views, staff_members, recent = _load()
_rules_section(rule_views, team_views)
_teams_section(team_views, staff_members)
_history_section(recent)
outcome.toast_unshown(state())  # its place was not drawn (a deleted team)
