"""The login page: per-session slow-down, neutral messages, idle expiry, logout, demo warning,
self-registration, the forced password change, and a clear message when the database is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy.exc
import streamlit as st

from dashboard import accounts, db, seed
from dashboard.settings import get_settings
from models import utcnow
from tests.conftest import PASSWORD
from tests.views.conftest import idle_for, login

NEUTRAL = "用户名或密码错误，或账号已被锁定，请稍后再试"


def _errors(at):
    return [e.value for e in at.error]


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _logout(at):
    next(b for b in at.sidebar.button if b.label == "退出登录").click()
    at.run()


def test_repeated_failures_in_one_session_start_a_growing_cool_down(app, users):
    for _ in range(3):
        login(app, "staff", "wrong-password")
        assert _errors(app) == [NEUTRAL]
    # The fourth attempt in this session is not even checked, right password or not.
    login(app, "staff", PASSWORD)
    assert not app.exception
    assert len(_errors(app)) == 1 and "秒后再试" in _errors(app)[0]
    assert "auth" not in app.session_state
    # Once the cool-down is over the right password works again (the account is not locked).
    throttle = app.session_state["login_throttle"]
    throttle.blocked_until = utcnow() - timedelta(seconds=1)
    login(app, "staff", PASSWORD)
    assert not app.exception and "auth" in app.session_state


def test_cool_down_message_is_the_same_for_unknown_users(app, users):
    for _ in range(3):
        login(app, "nobody-here", "wrong-password")
        assert _errors(app) == [NEUTRAL]
    login(app, "nobody-here", "wrong-password")
    assert "秒后再试" in _errors(app)[0]


def test_tampered_throttle_state_does_not_raise_or_unlock(app, users):
    app.run()
    app.session_state["login_throttle"] = "garbage"
    login(app, "staff", PASSWORD)
    assert not app.exception and "auth" in app.session_state


def test_idle_sessions_expire_and_say_so(app, users, monkeypatch):
    monkeypatch.setenv("DASHBOARD_IDLE_MINUTES", "5")
    get_settings.cache_clear()
    login(app, "staff", PASSWORD)
    assert "auth" in app.session_state
    idle_for(app, 4)
    app.run()
    assert "auth" in app.session_state and app.title[0].value != "投保咨询系统"
    idle_for(app, 6)
    app.run()
    assert "auth" not in app.session_state
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    assert any("长时间未操作" in i.value for i in app.info)


def test_logout_clears_everything_of_the_user(app, users):
    login(app, "manager", PASSWORD)
    app.session_state["triage_filter"] = "something the page kept"
    app.session_state["selected_rows"] = [1, 2, 3]
    _logout(app)
    assert "auth" not in app.session_state
    assert "triage_filter" not in app.session_state
    assert "selected_rows" not in app.session_state


def test_a_deactivated_user_is_logged_out_at_the_next_click(app, users):
    login(app, "staff", PASSWORD)
    with db.session_scope() as s:
        accounts.set_active(s, actor=users["admin"], user_id=users["staff"].id, active=False)
    app.run()
    assert "auth" not in app.session_state
    assert [t.label for t in app.text_input] == ["用户名", "密码"]


def test_tampered_auth_state_never_logs_anyone_in(app, users):
    app.run()
    app.session_state["auth"] = {"user_id": users["admin"].id}
    app.run()
    assert not app.exception
    assert [t.label for t in app.text_input] == ["用户名", "密码"]


def _demo(monkeypatch, engine):
    monkeypatch.setenv("DASHBOARD_DEMO", "1")
    monkeypatch.setenv("DASHBOARD_DEMO_ROWS", "20")
    if engine.dialect.name != "sqlite":
        monkeypatch.setenv("DASHBOARD_ALLOW_DEMO_ON_POSTGRES", "1")
    get_settings.cache_clear()


def test_login_page_warns_while_demo_accounts_keep_their_public_password(app, engine, monkeypatch):
    seed.create_demo_accounts(engine)
    _demo(monkeypatch, engine)
    app.run()
    assert any("演示模式" in w.value for w in app.warning)


def test_the_demo_warning_stays_until_every_demo_password_is_changed(app, engine, monkeypatch):
    demo = seed.create_demo_accounts(engine)
    _demo(monkeypatch, engine)
    with db.session_scope() as s:
        accounts.reset_password(
            s,
            actor=accounts.Operator("tests"),
            user_id=demo["admin"].id,
            password="private-keeper-pass-9",
        )
    app.run()
    assert any("演示模式" in w.value for w in app.warning)  # staff etc. are still public
    with db.session_scope() as s:
        for user in demo.values():
            accounts.reset_password(
                s,
                actor=accounts.Operator("tests"),
                user_id=user.id,
                password="private-keeper-pass-9",
            )
    st.cache_data.clear()  # the check is cached for a minute
    app.run()
    assert not any("演示模式" in w.value for w in app.warning)
    assert not app.table


def test_no_demo_warning_when_demo_mode_is_off(app, engine, monkeypatch):
    seed.create_demo_accounts(engine)
    app.run()  # DASHBOARD_DEMO=0 in tests
    assert not any("演示模式" in w.value for w in app.warning)


def test_registration_is_hidden_unless_enabled(app):
    app.run()
    assert not any(b.label == "还没有账号？企业注册" for b in app.button)


def test_a_company_registers_and_logs_in_as_an_enterprise_user(app, users, monkeypatch):
    monkeypatch.setenv("DASHBOARD_REGISTRATION", "1")
    get_settings.cache_clear()
    app.run()
    _button(app, "还没有账号？企业注册").click()
    app.run()
    fields = {t.label: t for t in app.text_input}
    assert list(fields) == ["用户名", "密码", "再次输入密码", "公司名称", "联系邮箱"]
    fields["用户名"].input("bingco")
    fields["密码"].input("harbour-lights-5")
    fields["再次输入密码"].input("harbour-lights-6")
    fields["公司名称"].input("丙公司")
    fields["联系邮箱"].input("boss@bing.example.com")
    _button(app, "注册").click()
    app.run()
    assert "两次输入的密码不一致" in _errors(app)
    {t.label: t for t in app.text_input}["再次输入密码"].input("harbour-lights-5")
    _button(app, "注册").click()
    app.run()
    assert not app.exception
    assert any("注册成功" in i.value for i in app.info)
    login(app, "bingco", "harbour-lights-5")
    assert "auth" in app.session_state
    with db.session_scope(write=False) as s:
        assert accounts.get_by_username(s, "bingco").role == "enterprise"


def test_a_one_time_password_must_be_changed_before_anything_else(app, users):
    with db.session_scope() as s:
        _, generated = accounts.add_user(s, actor=users["admin"], username="newstaff", role="staff")
    login(app, "newstaff", generated)
    assert [t.value for t in app.title] == ["修改密码"]
    # No page of the role is reachable meanwhile: every path shows this page.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("views/triage.py")
    assert [t.value for t in app.title] == ["修改密码"]
    fields = {t.label: t for t in app.text_input}
    fields["当前密码"].input(generated)
    fields["新密码"].input("my-own-secret-88")
    fields["再次输入新密码"].input("my-own-secret-88")
    _button(app, "保存新密码").click()
    app.run()
    assert not app.exception
    assert [t.value for t in app.title] == ["咨询处理"]


def test_a_weak_new_password_is_refused_with_a_message(app, users):
    with db.session_scope() as s:
        _, generated = accounts.add_user(s, actor=users["admin"], username="newstaff", role="staff")
    login(app, "newstaff", generated)
    fields = {t.label: t for t in app.text_input}
    fields["当前密码"].input(generated)
    fields["新密码"].input("password1234")
    fields["再次输入新密码"].input("password1234")
    _button(app, "保存新密码").click()
    app.run()
    assert any("常见" in e for e in _errors(app))
    assert [t.value for t in app.title] == ["修改密码"]


@pytest.mark.parametrize(
    "error",
    [
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
        sqlalchemy.exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
    ],
)
def test_a_database_outage_at_login_shows_a_clear_message(app, users, monkeypatch, error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(accounts, "authenticate", broken)
    login(app, "staff", PASSWORD)
    assert not app.exception
    assert any("数据库暂时不可用" in e for e in _errors(app))
    monkeypatch.undo()
    login(app, "staff", PASSWORD)  # the user simply tries again
    assert "auth" in app.session_state
