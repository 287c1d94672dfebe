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
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码错误")).to_be_visible()

    login(page, app_server, "manager")
    expect(page.get_by_role("link", name="统计报表")).to_be_visible()
    page.screenshot(path=shots / "logged-in.png", full_page=True)
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
