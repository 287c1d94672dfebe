"""用户管理 in a real browser: the admin creates an account with a one-time password (shown in a
dialog the admin must close), the new user must choose their own password before seeing anything
else; markup in user text stays text; a reset password shows in view wherever the admin scrolled."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

HOSTILE = "**粗体**<b>加粗</b>[链接](http://evil.example)"


LAPTOP = {"width": 1440, "height": 900}


def _in_view(page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    size = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


def _one_time_password(page, dialog) -> str:
    """The password shown in the dialog, which is in view; checks it is nowhere else."""
    from playwright.sync_api import expect

    expect(dialog).to_be_visible()
    _in_view(page, dialog)
    code = dialog.get_by_test_id("stCode")
    expect(code).to_have_count(1)
    _in_view(page, code)
    expect(page.get_by_test_id("stCode")).to_have_count(1)
    one_time = code.locator("code").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{16}", one_time)
    return one_time


def _close(page, dialog) -> None:
    """The dialog closes only through its button: Escape leaves it open."""
    from playwright.sync_api import expect

    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="我已记下密码，关闭").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("stCode")).to_have_count(0)


def test_admin_creates_a_user_who_must_change_the_one_time_password(page, app_server, shots):
    from playwright.sync_api import expect

    login(page, app_server, "admin")
    expect(page.get_by_role("heading", name="用户管理")).to_be_visible()
    page.get_by_label("用户名").fill("e2e-exporter")
    page.get_by_label("公司名称（企业用户必填）").fill(HOSTILE)
    page.get_by_label("显示名称").fill("<img src=x onerror=alert(1)>")
    page.get_by_role("button", name="创建用户").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("已创建用户 e2e-exporter", timeout=20_000)
    one_time = _one_time_password(page, dialog)
    page.screenshot(path=shots / "created.png")
    # The markup is nowhere rendered as markup: no link to evil.example, no <b>, no <img>.
    expect(page.locator("a[href^='http://evil.example']")).to_have_count(0)
    expect(page.locator("main b", has_text="加粗")).to_have_count(0)
    expect(page.locator("img[src='x']")).to_have_count(0)
    _close(page, dialog)

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


def _staff_account(database_url: str) -> str:
    """A staff account of this test's own (the demo accounts are shared by other tests)."""
    from dashboard import accounts, db

    username = "e2e_" + uuid.uuid4().hex[:8]
    engine = db.create_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            accounts.create_user(
                session, username=username, password="brand-new-secret-31", role="staff"
            )
    finally:
        engine.dispose()
    return username


def test_a_reset_password_and_other_outcomes_show_in_view(page, app_server, shots):
    from playwright.sync_api import expect

    username = _staff_account(app_server.database_url)
    page.set_viewport_size(LAPTOP)
    login(page, app_server, "admin")

    def choose() -> None:
        page.get_by_role("tab", name="修改账号").click()
        box = page.get_by_role("combobox", name="选择账号")
        box.click()
        box.fill(username)
        page.get_by_role("option", name=re.compile(f"^{username}（")).click()
        expect(box).to_have_value(re.compile(f"^{username}（"))

    choose()
    reset = page.get_by_role("button", name="重置密码")
    reset.scroll_into_view_if_needed()
    reset.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"已重置 {username} 的密码", timeout=20_000)
    _one_time_password(page, dialog)
    page.screenshot(path=shots / "reset-password.png")
    _close(page, dialog)

    # Other outcomes: a toast in view, which fades by itself.
    choose()
    page.get_by_role("button", name="停用账号").click()
    toast = page.get_by_test_id("stToast").filter(has_text=f"已停用账号 {username}")
    expect(toast).to_be_visible(timeout=20_000)
    _in_view(page, toast)
    page.screenshot(path=shots / "deactivated.png")
    expect(toast).to_have_count(0, timeout=15_000)
