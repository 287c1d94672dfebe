"""A login that lasts: reloads, new tabs, logout in every tab, deep links, a deactivated user's
open tab. The real server (``dashboard/server.py``) in Chromium."""

from __future__ import annotations

import re
import urllib.request

import pytest
import sqlalchemy as sa

from dashboard import accounts, db
from dashboard.accounts import Operator
from models import User
from tests.e2e.conftest import (
    DEMO_PASSWORD,
    login,
    session_cookie,
    wait_for_session_cookie,
)


def _logged_in(page) -> bool:
    return page.get_by_role("button", name="退出登录").count() > 0


def _expect_logged_in(page, heading: str):
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=20_000)


def _expect_login_form(page):
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=20_000)


def test_reload_and_a_new_tab_keep_the_login_and_the_cookie_is_httponly(page, app_server, shots):
    login(page, app_server, "staff")
    cookie = wait_for_session_cookie(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP here; DASHBOARD_COOKIE_SECURE=1 behind HTTPS
    assert cookie["expires"] > 0  # kept when the browser restarts, until its lifetime ends
    # The page's scripts cannot read it.
    assert "inq_session" not in page.evaluate("document.cookie")

    page.goto(f"{app_server.url}/triage?status=completed")
    _expect_logged_in(page, "咨询处理")
    page.reload()
    _expect_logged_in(page, "咨询处理")
    assert "status=completed" in page.url
    other = page.context.new_page()
    other.goto(f"{app_server.url}/triage")
    _expect_logged_in(other, "咨询处理")
    other.screenshot(path=shots / "new-tab.png")


def test_logout_in_one_tab_ends_the_other(page, app_server):
    from playwright.sync_api import expect

    login(page, app_server, "manager")
    wait_for_session_cookie(page)
    other = page.context.new_page()
    other.goto(f"{app_server.url}/reports")
    _expect_logged_in(other, "统计报表")

    page.get_by_role("button", name="退出登录").click()
    _expect_login_form(page)
    # The page asked the server to clear the cookie.
    for _ in range(50):
        if session_cookie(page.context) is None:
            break
        page.wait_for_timeout(100)
    assert session_cookie(page.context) is None

    # The other tab's next action finds its login ended.
    other.get_by_role("link", name="咨询处理").click()
    _expect_login_form(other)
    expect(other.get_by_text("您的登录已结束")).to_be_visible()
    other.reload()
    _expect_login_form(other)


DEEP_LINKS = [
    ("company", "/entry", "询保申请", None),
    ("staff", "/triage?status=completed&intent=insure", "咨询处理", "status=completed"),
    (
        "manager",
        "/reports?start=2026-01-01&end=2026-03-31&granularity=month",
        "统计报表",
        "start=2026-01-01",
    ),
    ("manager", "/triage?intent=buyer_credit", "咨询处理", "intent=buyer_credit"),
    ("admin", "/users", "用户管理", None),
]


@pytest.mark.parametrize(("username", "link", "heading", "kept"), DEEP_LINKS)
def test_a_deep_link_opened_logged_out_lands_on_that_view_after_login(
    page, app_server, username, link, heading, kept
):
    from playwright.sync_api import expect

    page.goto(f"{app_server.url}{link}")
    _expect_login_form(page)
    assert page.get_by_text("Page not found").count() == 0
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    _expect_logged_in(page, heading)
    path = link.split("?")[0]
    expect(page).to_have_url(re.compile(re.escape(path)))
    if kept:
        expect(page).to_have_url(re.compile(re.escape(kept)))
    if username == "manager" and path == "/reports":
        # the report's own keys: the month granularity and the period of the link.
        # The period caption, not the bare dates: every chart's subtitle repeats them.
        expect(page.get_by_text("统计期间：2026-01-01 至 2026-03-31")).to_be_visible()
    assert page.get_by_text("Page not found").count() == 0


def test_a_deactivated_users_open_tab_loses_access_at_its_next_action(page, app_server):
    from playwright.sync_api import expect

    engine = db.create_engine(app_server.database_url)
    try:
        with db.session_scope(engine) as s:
            user = accounts.create_user(
                s,
                username="e2e_deactivated",
                password=DEMO_PASSWORD,
                role="staff",
                check_password=False,
            )
            user_id = user.id
        login(page, app_server, "e2e_deactivated")
        wait_for_session_cookie(page)
        with db.session_scope(engine) as s:
            accounts.set_active(s, actor=Operator("e2e"), user_id=user_id, active=False)
        page.get_by_label("搜索").fill("王")
        page.get_by_label("搜索").press("Enter")
        _expect_login_form(page)
        expect(page.get_by_text("您的登录已结束")).to_be_visible()
        page.reload()
        _expect_login_form(page)
        with engine.connect() as conn:
            left = conn.execute(
                sa.text("SELECT COUNT(*) FROM user_session WHERE user_id = :id"), {"id": user_id}
            ).scalar_one()
        assert left == 0
        with db.session_scope(engine, write=False) as s:
            assert s.get(User, user_id).is_active is False
    finally:
        engine.dispose()


def test_healthz_and_a_cross_site_login_post(app_server):
    with urllib.request.urlopen(f"{app_server.url}/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b'{"status":"ok"}'
    request = urllib.request.Request(
        f"{app_server.url}/auth/session",
        data=b'{"pickup": "anything"}',
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


def test_unsaved_form_changes_survive_a_reload(page, app_server, shots):
    from playwright.sync_api import expect

    login(page, app_server, "company")
    wait_for_session_cookie(page)
    contact = page.get_by_label("联系人")
    contact.fill("重新加载测试")
    contact.press("Tab")  # the value reaches the server
    page.wait_for_timeout(1500)
    page.reload()
    expect(page.get_by_label("联系人")).to_have_value("重新加载测试", timeout=20_000)
    expect(page.get_by_text("已恢复您上次未保存的填写内容")).to_be_visible()
    page.screenshot(path=shots / "recovered.png")
