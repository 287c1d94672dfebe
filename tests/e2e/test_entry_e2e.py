"""投保咨询 in a real browser: fill and save a draft, edit it from the list, submit it after the
confirmation, see it read-only; a wrong mobile number is reported and nothing typed is lost.

The shared server's database is shared with other tests, so each test works on inquiries it
creates itself, recognised by a unique contact name.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

TALL = {"width": 1400, "height": 2400}  # Streamlit scrolls inside the page: show it all
NARROW = {"width": 420, "height": 2400}
ROW_HEIGHT = 35  # st.dataframe's default header and row height


def _unique_contact() -> str:
    return "测试" + uuid.uuid4().hex[:6]


def _choose(page, label: str, option: str) -> None:
    from playwright.sync_api import expect

    # While the page reruns, the disabled placeholder select of the same label may still be shown.
    box = page.get_by_role("combobox", name=label, exact=True).and_(page.locator(":enabled"))
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def _fill(page, *, contact: str, mobile: str = "13912345678") -> None:
    _choose(page, "省/市", "广东省")
    _choose(page, "市", "深圳市")
    _choose(page, "区", "南山区")
    page.get_by_label("*详细地址").fill("科技园南路88号")
    page.get_by_label("*联系人").fill(contact)
    page.get_by_label("*联系手机").fill(mobile)
    page.get_by_label("*联系固话").fill("0755-87654321")
    page.get_by_label("*联系邮箱").fill("e2e@example.com")
    page.get_by_label("*联系邮箱").press("Tab")


def _settled(page) -> None:
    """Wait until the current script run has finished (and the list has been redrawn)."""
    from playwright.sync_api import expect

    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-script-state", "notRunning")


def _open_row(page, index: int) -> None:
    """Tick the row's selection box (the grid is a canvas: click by position)."""
    _settled(page)
    grid = page.get_by_test_id("stDataFrame")
    grid.click(position={"x": 16, "y": ROW_HEIGHT + ROW_HEIGHT * index + ROW_HEIGHT // 2})


def test_save_edit_submit_and_view_read_only(page, app_server, shots):
    from playwright.sync_api import expect

    page.set_viewport_size(TALL)
    login(page, app_server, "company")
    expect(page.get_by_role("heading", name="询保申请", exact=True)).to_be_visible()
    expect(page.get_by_text("029-95198")).to_be_visible()
    page.screenshot(path=shots / "01-empty-form.png")

    contact = _unique_contact()
    _fill(page, contact=contact)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存为暂存")).to_be_visible()
    serial_box = page.get_by_label("询保流水号")
    expect(serial_box).to_have_value(re.compile(r"^\d{18}$"))
    serial = serial_box.input_value()
    page.screenshot(path=shots / "02-saved-draft.png")

    # 新增 clears the form; the draft is the newest row of the list: open it again from there.
    page.get_by_role("button", name="新增").click()
    expect(serial_box).to_have_value("")
    expect(page.get_by_label("*联系人")).to_have_value("")
    _open_row(page, 0)
    expect(serial_box).to_have_value(serial)
    expect(page.get_by_label("*联系人")).to_have_value(contact)
    page.get_by_label("*联系人").fill(contact + "改")
    page.get_by_label("*联系人").press("Tab")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text(f"已保存为暂存，询保流水号 {serial}")).to_be_visible()
    page.screenshot(path=shots / "03-edited-draft.png")

    page.get_by_role("button", name="提交", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("确定提交吗")
    page.screenshot(path=shots / "04-confirm-submit.png")
    dialog.get_by_role("button", name="确认提交").click()
    expect(page.get_by_text(f"已提交，询保流水号 {serial}")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("该询保申请已提交，仅供查看")).to_be_visible()
    expect(page.get_by_text("提交日期：")).to_be_visible()
    expect(page.get_by_label("*联系人")).to_be_disabled()
    expect(page.get_by_label("*联系人")).to_have_value(contact + "改")
    expect(page.get_by_role("button", name="保存")).to_have_count(0)
    expect(page.get_by_role("button", name="提交", exact=True)).to_have_count(0)
    page.screenshot(path=shots / "05-read-only.png")


def test_invalid_mobile_is_reported_and_typed_values_stay(page, app_server, shots):
    from playwright.sync_api import expect

    page.set_viewport_size(TALL)
    login(page, app_server, "company")
    contact = _unique_contact()
    long_name = "深圳市前海蛇口自由贸易试验区国际供应链管理与跨境电子商务进出口贸易集团股份有限公司第一分公司"
    page.get_by_label("*公司名称").fill(long_name)
    _fill(page, contact=contact, mobile="12345")
    page.get_by_role("button", name="保存").click()
    alert = page.get_by_role("alert").filter(has_text="请修正以下内容")
    expect(alert).to_contain_text("联系手机")
    expect(alert).to_contain_text("联系手机格式不正确")
    expect(page.get_by_label("询保流水号")).to_have_value("")
    expect(page.get_by_label("*联系手机")).to_have_value("12345")
    expect(page.get_by_label("*联系人")).to_have_value(contact)
    expect(page.get_by_label("*公司名称")).to_have_value(long_name)
    expect(page.get_by_label("区", exact=True)).to_have_value("南山区")
    page.screenshot(path=shots / "01-invalid-mobile.png")

    page.set_viewport_size(NARROW)  # the sidebar folds away, the right-hand panel moves below
    expect(page.get_by_test_id("stSidebar")).not_to_be_in_viewport()
    expect(page.get_by_label("*联系手机")).to_have_value("12345")
    panel = page.get_by_role("heading", name="四大功能").bounding_box()
    submit = page.get_by_role("button", name="提交", exact=True).bounding_box()
    assert panel["y"] > submit["y"] and panel["x"] + panel["width"] <= NARROW["width"]
    main = page.get_by_test_id("stMain")
    assert main.evaluate("el => el.scrollWidth <= el.clientWidth")  # nothing pokes out sideways
    page.screenshot(path=shots / "02-invalid-mobile-narrow.png")
