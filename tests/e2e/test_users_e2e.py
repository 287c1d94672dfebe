"""用户管理 in a real browser: the admin creates an account with a one-time password, the new user
must choose their own password before seeing anything else; markup in user text stays text."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

HOSTILE = "**粗体**<b>加粗</b>[链接](http://evil.example)"


def test_admin_creates_a_user_who_must_change_the_one_time_password(page, app_server, shots):
    from playwright.sync_api import expect

    login(page, app_server, "admin")
    expect(page.get_by_role("heading", name="用户管理")).to_be_visible()
    page.get_by_label("用户名").fill("e2e-exporter")
    page.get_by_label("公司名称（企业用户必填）").fill(HOSTILE)
    page.get_by_label("显示名称").fill("<img src=x onerror=alert(1)>")
    page.get_by_role("button", name="创建用户").click()
    expect(page.get_by_text("已创建用户 e2e-exporter")).to_be_visible(timeout=20_000)
    one_time = page.locator("[data-testid='stCode'] code").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{16}", one_time)
    page.screenshot(path=shots / "created.png", full_page=True)
    # The markup is nowhere rendered as markup: no link to evil.example, no <b>, no <img>.
    expect(page.locator("a[href^='http://evil.example']")).to_have_count(0)
    expect(page.locator("main b", has_text="加粗")).to_have_count(0)
    expect(page.locator("img[src='x']")).to_have_count(0)

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    login(page, app_server, "e2e-exporter", one_time)
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible(timeout=20_000)
    # The sidebar shows the display name as typed, not as an image.
    expect(page.get_by_text("<img src=x onerror=alert(1)>", exact=False)).to_be_visible()
    expect(page.locator("img[src='x']")).to_have_count(0)
    page.screenshot(path=shots / "must-change.png", full_page=True)
    page.get_by_label("当前密码").fill(one_time)
    page.get_by_label("新密码", exact=True).fill("brand-new-secret-31")
    page.get_by_label("再次输入新密码").fill("brand-new-secret-31")
    page.get_by_role("button", name="保存新密码").click()
    expect(page.get_by_role("heading", name="修改密码")).to_have_count(0, timeout=20_000)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    page.screenshot(path=shots / "after-change.png", full_page=True)
