"""The app shell: login, a neutral message for wrong credentials, role-based pages, logout."""

from __future__ import annotations

from dashboard import seed
from tests.conftest import PASSWORD
from tests.views.conftest import login


def _sidebar_buttons(at):
    return [b.label for b in at.sidebar.button]


def test_login_page_shows_the_form(app):
    app.run()
    assert not app.exception
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    assert any(b.label == "登录" for b in app.button)


def test_wrong_password_gets_one_neutral_message(app, users):
    login(app, "staff", "wrong-password")
    assert not app.exception
    assert [e.value for e in app.error] == ["用户名或密码错误，或账号已被锁定，请稍后再试"]
    login(app, "no-such-user", "wrong-password")
    assert [e.value for e in app.error] == ["用户名或密码错误，或账号已被锁定，请稍后再试"]


def test_login_shows_the_pages_of_the_role_and_logout_clears_the_session(app, users):
    login(app, "staff", PASSWORD)
    assert not app.exception
    assert "退出登录" in _sidebar_buttons(app)
    assert [t.value for t in app.title] == ["咨询处理"]
    assert "auth" in app.session_state
    next(b for b in app.sidebar.button if b.label == "退出登录").click()
    app.run()
    assert "auth" not in app.session_state
    assert [t.label for t in app.text_input] == ["用户名", "密码"]


def test_each_role_lands_on_its_own_page(app, users):
    expected = {"company": "询保申请", "manager": "咨询处理", "admin": "用户管理"}
    for username, title in expected.items():
        login(app, username, PASSWORD)
        assert not app.exception
        assert app.title[0].value in (title, "投保咨询")
        next(b for b in app.sidebar.button if b.label == "退出登录").click()
        app.run()


def test_demo_mode_lists_the_demo_accounts(app, engine, monkeypatch):
    seed.create_demo_accounts(engine)
    monkeypatch.setenv("DASHBOARD_DEMO", "1")
    monkeypatch.setenv("DASHBOARD_DEMO_ROWS", "50")
    from dashboard.settings import get_settings

    get_settings.cache_clear()
    if engine.dialect.name != "sqlite":
        monkeypatch.setenv("DASHBOARD_ALLOW_DEMO_ON_POSTGRES", "1")
        get_settings.cache_clear()
    app.run()
    assert not app.exception
    assert any("演示模式" in w.value for w in app.warning)
    table = app.table[0].value
    assert list(table["用户名"]) == ["company", "staff", "manager", "admin"]
