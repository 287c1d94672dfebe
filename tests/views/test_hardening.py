"""The pages under the inputs that broke them: page after page after page, a button clicked by an
account that was deactivated, demoted or idle since the page was drawn, user text that looks like
markdown, an error nobody planned for. Through AppTest, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import accounts, db, inquiries
from dashboard.views import common
from dashboard.views.entry_state import WIDGET_KEYS
from models import Inquiry, InquiryEvent
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import idle_for, login

PAGES = {
    "entry": ("views/entry.py", "询保申请"),
    "triage": ("views/triage.py", "咨询处理"),
    "reports": ("views/reports.py", "统计报表"),
    "users": ("views/users.py", "用户管理"),
}
ROLE_PAGES = {
    "company": ["entry"],
    "staff": ["triage"],
    "manager": ["triage", "reports"],
    "admin": ["users"],
}


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _clean(at):
    """No exception element and no error message that carries an error id."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "错误编号" in e.value]


def _submitted(users, company_name="深圳市测试进出口有限公司"):
    with db.session_scope() as s:
        return inquiries.submit(
            s, actor=users["company"], form=valid_form(company_name=company_name)
        )


# --------------------------------------------------------------------------------------------
# Pages in sequence


@pytest.mark.parametrize("who", list(ROLE_PAGES))
def test_every_page_opens_cleanly_after_every_other_page_for_every_role(app, users, who):
    _submitted(users)
    login(app, who, PASSWORD)
    _clean(app)
    pages = ROLE_PAGES[who]
    # A → B → A → B → A (a single-page role goes to its page again and again)
    sequence = [pages[i % len(pages)] for i in range(5)]
    for name in sequence:
        path, title = PAGES[name]
        app.switch_page(path).run()
        _clean(app)
        assert app.title[0].value == title


def test_triage_filters_survive_a_visit_to_the_reports(app, users):
    _submitted(users)
    _submitted(users, company_name="另一家贸易有限公司")
    login(app, "manager", PASSWORD)
    app.sidebar.text_input(key="triage_search").input("另一家").run()
    app.sidebar.selectbox(key="triage_assignee").set_value("none").run()
    assert app.dataframe[0].value["公司名称"].tolist() == ["另一家贸易有限公司"]
    app.switch_page("views/reports.py").run()
    _clean(app)
    app.switch_page("views/triage.py").run()
    _clean(app)
    assert app.sidebar.text_input(key="triage_search").value == "另一家"
    assert app.sidebar.selectbox(key="triage_assignee").value == "none"
    assert app.dataframe[0].value["公司名称"].tolist() == ["另一家贸易有限公司"]


# --------------------------------------------------------------------------------------------
# Buttons pressed by an account that changed since the page was drawn


def _open_detail(app, inquiry_id):
    app.session_state["triage_state"].open_id = inquiry_id
    app.run()
    _clean(app)


def _events(inquiry_id):
    with db.session_scope(write=False) as s:
        return s.exec(
            select(InquiryEvent.action).where(InquiryEvent.inquiry_id == inquiry_id)
        ).all()


def test_a_deactivated_staff_members_click_completes_nothing_and_shows_the_login(app, users):
    target = _submitted(users)
    login(app, "staff", PASSWORD)
    _open_detail(app, target.id)
    with db.session_scope() as s:
        accounts.set_active(s, actor=users["admin"], user_id=users["staff"].id, active=False)
    _button(app, "标记为已完成").click().run()
    _clean(app)
    assert _events(target.id) == ["created", "submitted"]
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    assert any(i.value == common.INACTIVE_NOTICE for i in app.info)


def test_a_demoted_managers_click_on_the_reports_link_shows_no_report(app, users):
    login(app, "manager", PASSWORD)
    app.switch_page("views/reports.py").run()
    _clean(app)
    with db.session_scope() as s:
        accounts.set_role(s, actor=users["admin"], user_id=users["manager"].id, role="staff")
    app.switch_page("views/reports.py").run()
    assert not app.exception
    assert not any(t.value == "统计报表" for t in app.title)


@pytest.mark.parametrize("button", ["认领", "添加备注"])
def test_a_click_after_the_idle_limit_writes_nothing(app, users, button):
    target = _submitted(users)
    login(app, "staff", PASSWORD)
    _open_detail(app, target.id)
    app.text_area(key=f"triage_note_{target.id}").input("过期后的备注")
    idle_for(app, 120)
    _button(app, button).click().run()
    _clean(app)
    assert _events(target.id) == ["created", "submitted"]
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    assert any("长时间未操作" in i.value for i in app.info)


def _typed_entry(app):
    login(app, "company", PASSWORD)
    _clean(app)
    app.text_input(key=WIDGET_KEYS["contact_name"]).input("赵六")
    app.text_input(key=WIDGET_KEYS["address_detail"]).input("前海路9号")
    app.run()


def test_an_idle_company_keeps_the_typed_form_through_the_login(app, users):
    _typed_entry(app)
    idle_for(app, 120)
    _button(app, "保存").click().run()
    _clean(app)
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    with db.session_scope(write=False) as s:
        assert s.exec(select(Inquiry)).all() == []
    login(app, "company", PASSWORD)
    _clean(app)
    assert app.text_input(key=WIDGET_KEYS["contact_name"]).value == "赵六"
    assert app.text_input(key=WIDGET_KEYS["address_detail"]).value == "前海路9号"


def test_another_user_logging_in_after_the_timeout_never_sees_the_form(app, users):
    _typed_entry(app)
    idle_for(app, 120)
    app.run()
    login(app, "company2", PASSWORD)
    _clean(app)
    assert app.text_input(key=WIDGET_KEYS["contact_name"]).value == ""


def test_a_deactivated_companys_save_shows_the_login_with_a_reason_not_a_blank_page(app, users):
    _typed_entry(app)
    with db.session_scope() as s:
        accounts.set_active(s, actor=users["admin"], user_id=users["company"].id, active=False)
    _button(app, "保存").click().run()
    _clean(app)
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    assert any(i.value == common.INACTIVE_NOTICE for i in app.info)
    with db.session_scope(write=False) as s:
        assert s.exec(select(Inquiry)).all() == []


# --------------------------------------------------------------------------------------------
# User text is shown as typed


def test_markdown_in_a_company_name_is_shown_as_typed_in_the_duplicate_buttons(app, users):
    name = "![p](http://127.0.0.1:9/x.png)**公司**"
    first = _submitted(users, company_name=name)
    second = _submitted(users, company_name=name)
    login(app, "staff", PASSWORD)
    _open_detail(app, first.id)
    labels = [b.label for b in app.button if b.label.startswith(second.serial)]
    assert labels == [
        f"{second.serial} · {common.md_escape(name)} · 相同：公司名称、联系手机、联系邮箱"
    ]
    assert "![p]" not in labels[0]  # every markdown character is escaped


def test_markdown_in_a_display_name_is_shown_as_typed_after_assigning(app, users):
    target = _submitted(users)
    with db.session_scope() as s:
        mole = accounts.create_user(
            s, username="mole", password=PASSWORD, role="staff", display_name="[点我](http://x.y)"
        )
    login(app, "staff", PASSWORD)
    _open_detail(app, target.id)
    app.selectbox(key="triage_assign_to").set_value(mole.id).run()
    _button(app, "分配").click().run()
    _clean(app)
    assert [m.value for m in app.success] == [
        f"已将负责人设为 {common.md_escape('[点我](http://x.y)')}"
    ]


# --------------------------------------------------------------------------------------------
# Errors nobody planned for


def test_an_unexpected_database_error_shows_a_chinese_message_with_an_id_and_no_detail(
    app, users, engine, caplog
):
    target = _submitted(users)
    login(app, "staff", PASSWORD)
    with engine.begin() as conn:  # a real fault: the audit trail's table is gone
        conn.execute(sa.text("ALTER TABLE inquiry_event RENAME TO inquiry_event_away"))
    try:
        app.session_state["triage_state"].open_id = target.id
        app.run()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE inquiry_event_away RENAME TO inquiry_event"))
    assert not app.exception
    messages = [e.value for e in app.error]
    assert len(messages) == 1 and "错误编号" in messages[0]
    assert "inquiry_event" not in messages[0] and "SELECT" not in messages[0]
    error_id = messages[0].split("错误编号 ")[1][:8]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize("typed", ["sta\x00ff", "staff\u200b", "\u202estaff"])
def test_control_characters_in_the_login_get_the_neutral_message(app, users, typed):
    login(app, typed, PASSWORD)
    _clean(app)
    assert [e.value for e in app.error] == ["用户名或密码错误，或账号已被锁定，请稍后再试"]


def test_a_nul_in_the_search_is_ignored_with_a_notice(app, users):
    _submitted(users)
    login(app, "staff", PASSWORD)
    app.sidebar.text_input(key="triage_search").input("深圳\x00测试").run()
    _clean(app)
    assert any("不可见字符" in w.value for w in app.sidebar.warning)


@pytest.mark.parametrize(("label", "named"), [("备注内容", "备注"), ("处理意见", "处理意见")])
def test_a_nul_in_a_note_is_refused_naming_the_note(app, users, label, named):
    target = _submitted(users)
    login(app, "staff", PASSWORD)
    _open_detail(app, target.id)
    next(t for t in app.text_area if t.label == label).input("好\x00的")
    _button(app, "添加备注" if label == "备注内容" else "标记为已完成").click().run()
    _clean(app)
    assert _events(target.id) == ["created", "submitted"]
    assert any(named in e.value for e in app.error)


def test_a_nul_in_the_user_search_finds_as_if_it_were_not_there(app, users):
    login(app, "admin", PASSWORD)
    app.text_input(key="users_search").input("sta\x00ff").run()
    _clean(app)
    assert set(app.dataframe[0].value["用户名"]) == {"staff", "staff2"}


def test_a_ten_thousand_character_paste_is_refused_naming_the_field_and_nothing_is_saved(
    app, users
):
    from tests.views.test_entry import _fill_valid

    login(app, "company", PASSWORD)
    _fill_valid(app)
    app.text_input(key=WIDGET_KEYS["company_name"]).input("长" * 10_000)
    _button(app, "保存").click().run()
    _clean(app)
    assert any("公司名称不能超过100个字符（现有10000个）" in e.value for e in app.error)
    assert app.text_input(key=WIDGET_KEYS["company_name"]).value == "长" * 10_000
    with db.session_scope(write=False) as s:
        assert s.exec(select(Inquiry)).all() == []
