"""用户管理 page (AppTest): list, create with a one-time or typed password, change role,
deactivate/reactivate, reset password, the self/last-admin guards surfaced as messages, and
user text shown as text."""

from __future__ import annotations

import json

from dashboard import accounts, db
from tests.conftest import PASSWORD
from tests.views.conftest import login


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _user(username):
    with db.session_scope(write=False) as s:
        return accounts.get_by_username(s, username)


def _admin(app):
    login(app, "admin", PASSWORD)
    assert not app.exception
    assert app.title[0].value == "用户管理"
    return app


def _fields(at):
    return {t.label: t for t in at.text_input}


def test_admin_sees_every_user_with_role_company_state_and_last_login(app, users):
    _admin(app)
    table = app.dataframe[0].value
    assert list(table.columns) == [
        "用户名",
        "显示名称",
        "角色",
        "公司名称",
        "邮箱",
        "状态",
        "最近登录",
    ]
    assert set(table["用户名"]) == set(users)
    row = table.set_index("用户名").loc["company"]
    assert row["角色"] == "企业用户" and row["公司名称"] == "甲公司进出口有限公司"
    assert row["状态"] == "在用" and row["最近登录"] == ""
    assert table.set_index("用户名").loc["admin", "最近登录"] != ""


def _dialogs(at) -> list:
    """The open dialogs (``st.dialog`` blocks live outside the page body)."""
    found = []

    def walk(node) -> None:
        if getattr(node, "type", None) == "dialog":
            found.append(node)
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return found


def _inside(block) -> list:
    found = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        if children is None:
            found.append(node)
        for child in (children or {}).values():
            walk(child)

    walk(block)
    return found


def test_creating_a_user_shows_the_one_time_password_once_in_a_dialog(app, users):
    _admin(app)
    fields = _fields(app)
    fields["用户名"].input("newstaff")
    app.selectbox(key="new_role").set_value("staff")
    _button(app, "创建用户").click()
    app.run()
    assert not app.exception
    [dialog] = _dialogs(app)
    assert dialog.proto.dialog.title == "一次性密码"
    assert not dialog.proto.dialog.dismissible  # closed only by its button, never by accident
    inside = _inside(dialog)
    assert any(n.type == "success" and "已创建用户 newstaff" in n.value for n in inside)
    [code] = [n for n in inside if n.type == "code"]
    assert [c.value for c in app.code] == [code.value]  # nowhere else on the page
    with db.session_scope() as s:
        user = accounts.authenticate(s, username="newstaff", password=code.value)
    assert user is not None and user.must_change_password

    _button(app, "我已记下密码，关闭").click()
    app.run()  # closing it: the password is gone for good
    assert not _dialogs(app) and not app.code
    app.run()
    assert not _dialogs(app) and not app.code


def test_a_typed_password_must_match_twice(app, users):
    _admin(app)
    fields = _fields(app)
    fields["用户名"].input("typist")
    app.selectbox(key="new_role").set_value("manager")
    app.radio(key="new_mode").set_value("手动设置密码")
    fields["密码"].input("harbour-lights-5")
    fields["再次输入密码"].input("harbour-lights-6")
    _button(app, "创建用户").click()
    app.run()
    assert "两次输入的密码不一致" in [e.value for e in app.error]
    assert _user("typist") is None
    _fields(app)["再次输入密码"].input("harbour-lights-5")
    _button(app, "创建用户").click()
    app.run()
    assert [e.value for e in app.error] == []
    assert _user("typist") is not None and not app.code


def test_refused_input_is_shown_next_to_the_form(app, users):
    _admin(app)
    _fields(app)["用户名"].input("newco")
    app.selectbox(key="new_role").set_value("enterprise")
    _button(app, "创建用户").click()
    app.run()
    assert "企业用户需要填写公司名称" in [e.value for e in app.error]
    assert _user("newco") is None


def _choose(app, username):
    target = _user(username)
    app.selectbox(key="edit_user").set_value(target.id)
    app.run()
    return target


def test_change_role_deactivate_reactivate_and_reset_password(app, users):
    _admin(app)
    target = _choose(app, "staff2")
    app.selectbox(key=f"edit_role_{target.id}").set_value("manager")
    _button(app, "修改角色").click()
    app.run()
    assert _user("staff2").role == "manager"
    # The outcome is a toast (in view wherever the admin scrolled), not a box at the top.
    assert [(t.value, t.proto.duration) for t in app.toast] == [
        ("已将 staff2 的角色改为管理人员", 4)
    ]
    assert not app.success and not _dialogs(app)
    _choose(app, "staff2")
    _button(app, "停用账号").click()
    app.run()
    assert not _user("staff2").is_active
    _choose(app, "staff2")
    _button(app, "启用账号").click()
    app.run()
    assert _user("staff2").is_active
    _choose(app, "staff2")
    _button(app, "重置密码").click()
    app.run()
    assert _user("staff2").must_change_password
    [dialog] = _dialogs(app)
    assert any(n.type == "success" and "已重置 staff2 的密码" in n.value for n in _inside(dialog))
    [code] = [n for n in _inside(dialog) if n.type == "code"]
    assert accounts.verify_password(_user("staff2").password_hash, code.value)
    assert not app.toast  # the dialog says it; no second message
    audit = app.dataframe[1].value
    assert {"修改角色", "停用", "启用", "重置密码"} <= set(audit["操作"])
    assert set(audit.loc[audit["账号"] == "staff2", "操作人"]) >= {"admin"}


def _in_order(at) -> list:
    return _inside(at.main)


def test_the_admin_cannot_deactivate_themselves_from_the_page(app, users):
    _admin(app)
    _choose(app, "admin")
    _button(app, "停用账号").click()
    app.run()
    assert any("最后一个" in e.value or "自己" in e.value for e in app.error)
    assert _user("admin").is_active
    # The refusal sits right under the row of buttons, the one pressed among them.
    order = _in_order(app)
    refusal = next(i for i, n in enumerate(order) if n.type == "error")
    row = [getattr(n, "label", None) for n in order[refusal - 3 : refusal]]
    assert row == ["修改角色", "停用账号", "重置密码"]


def test_refused_create_is_shown_right_under_its_button(app, users):
    _admin(app)
    _fields(app)["用户名"].input("newco2")
    app.selectbox(key="new_role").set_value("enterprise")
    _button(app, "创建用户").click()
    app.run()
    order = _in_order(app)
    refusal = next(i for i, n in enumerate(order) if n.type == "error" and "公司名称" in n.value)
    pressed = next(i for i, n in enumerate(order) if getattr(n, "label", None) == "创建用户")
    assert refusal == pressed + 1


def test_empty_lists_say_so_in_chinese(app, users):
    _admin(app)
    next(t for t in app.text_input if t.label == "搜索用户").input("没有这个人").run()
    assert not app.exception
    assert "没有符合条件的账号，请修改搜索内容或角色筛选。" in [i.value for i in app.info]
    # Only the audit trail is left as a table.
    assert all("用户名" not in d.value.columns for d in app.dataframe)


def test_the_tables_fit_a_laptop_window_with_room_for_company_names(app, users):
    _admin(app)
    for frame in app.dataframe:
        columns = json.loads(frame.proto.columns)
        widths = {name: columns.get(name, {}).get("width") for name in frame.value.columns}
        assert all(widths.values()), widths  # the grid's own fitting cuts long outliers
        assert sum(widths.values()) <= 980, widths  # no sideways scrolling at 1440 px
    users_table = json.loads(app.dataframe[0].proto.columns)
    assert users_table["公司名称"]["width"] >= 16 * 14 + 16  # 深圳市前海演示进出口贸易有限公司


def test_user_text_is_shown_as_text(app, users):
    hostile = "**粗体** <b>x</b> [链接](http://evil.example) $x^2$"
    with db.session_scope() as s:
        accounts.add_user(
            s,
            actor=users["admin"],
            username="hostile",
            role="enterprise",
            company_name=hostile,
            display_name="<img src=x>",
        )
    _admin(app)
    table = app.dataframe[0].value.set_index("用户名")
    assert table.loc["hostile", "公司名称"] == hostile  # the cell holds the raw text
    # Nowhere on the page does it reach a markdown element unescaped.
    for element in [*app.markdown, *app.caption, *app.success, *app.error]:
        assert "[链接](http" not in element.value and "<b>" not in element.value


def test_non_admins_get_no_user_management(app, users):
    login(app, "manager", PASSWORD)
    assert "用户管理" not in [t.value for t in app.title]
    assert not any(d.value is not None and "用户名" in d.value.columns for d in app.dataframe)


def test_search_and_role_filter_narrow_the_list(app, users):
    _admin(app)
    next(t for t in app.text_input if t.label == "搜索用户").input("乙公司").run()
    assert list(app.dataframe[0].value["用户名"]) == ["company2"]
    next(t for t in app.text_input if t.label == "搜索用户").input("").run()
    next(s for s in app.selectbox if s.label == "角色筛选").set_value("staff").run()
    assert list(app.dataframe[0].value["用户名"]) == ["staff", "staff2"]
