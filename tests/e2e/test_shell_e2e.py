"""The login journey in a real browser: demo accounts listed, wrong password, login, logout."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_login_page_lists_demo_accounts_and_logs_in(page, app_server, shots):
    from playwright.sync_api import expect

    page.goto(app_server.url)
    expect(page.get_by_text("演示模式")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("cell", name="manager", exact=True)).to_be_visible()
    page.screenshot(path=shots / "login.png", full_page=True)

    page.get_by_label("用户名").fill("staff")
    page.get_by_label("密码").fill("wrong-password")
    # exact: "登录" is also a substring of "退出登录" (and of the single-sign-on button)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_text("用户名或密码错误")).to_be_visible()

    login(page, app_server, "manager")
    expect(page.get_by_role("link", name="统计报表")).to_be_visible()
    page.screenshot(path=shots / "logged-in.png", full_page=True)
    page.get_by_role("button", name="退出登录").click()
    # Until the logout run has finished, the old sidebar's 退出登录 is still on screen next to the
    # new 登录: a substring match finds both (strict mode violation), so match exactly.
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)
