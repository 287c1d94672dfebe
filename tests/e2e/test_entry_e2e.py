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


def _toast(page, text: str):
    return page.get_by_test_id("stToast").filter(has_text=text)


def _beside_buttons(page, text: str):
    """The outcome drawn under the form's buttons (a message box in the page body)."""
    return page.get_by_test_id("stMain").get_by_test_id("stAlertContainer").filter(has_text=text)


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
    expect(page.get_by_text("029-95198", exact=True)).to_be_visible()  # the panel's hotline
    page.screenshot(path=shots / "01-empty-form.png")

    contact = _unique_contact()
    _fill(page, contact=contact)
    page.get_by_role("button", name="保存").click()
    expect(_toast(page, "已保存为暂存")).to_be_visible()
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
    expect(_beside_buttons(page, f"已保存为暂存，询保流水号 {serial}")).to_be_visible()
    page.screenshot(path=shots / "03-edited-draft.png")

    page.get_by_role("button", name="提交", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("确定提交吗")
    page.screenshot(path=shots / "04-confirm-submit.png")
    dialog.get_by_role("button", name="确认提交").click()
    expect(_beside_buttons(page, f"已提交，询保流水号 {serial}")).to_be_visible()
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


# --------------------------------------------------------------------------------------------
# Outcomes where the user is looking (a laptop-sized window, scrolled down to the buttons)

LAPTOP = {"width": 1440, "height": 900}


def _in_view(page, locator) -> None:
    """The element is inside the window (Streamlit scrolls inside the page, so an element can be
    "visible" in the DOM sense and still be scrolled out of view)."""
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    size = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


def _draft_of_company(
    database_url: str, contact: str, *, username: str = "company", **fields: str
) -> tuple[int, str]:
    """A draft of an enterprise account (under its own company name unless ``fields`` say
    otherwise), written through the domain into the server's database: the newest inquiry of
    the account, so the first row of its list."""
    from dashboard import accounts, db, inquiries
    from tests.conftest import valid_form

    engine = db.create_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            company = accounts.get_by_username(session, username)
            form = valid_form(contact_name=contact, company_name=company.company_name)
            draft = inquiries.save_draft(
                session, actor=company, form=form.model_copy(update=fields)
            )
            return draft.id, draft.serial
    finally:
        engine.dispose()


NEW_PASSWORD = "brand-new-secret-31"


def _new_company(database_url: str, company_name: str) -> str:
    """A new enterprise account of its own (no inquiries yet); its username."""
    from dashboard import accounts, db

    username = "e2e_" + uuid.uuid4().hex[:8]
    engine = db.create_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            accounts.create_user(
                session,
                username=username,
                password=NEW_PASSWORD,
                role="enterprise",
                company_name=company_name,
            )
    finally:
        engine.dispose()
    return username


def _click_row(page, index: int, *, x: int = 300) -> None:
    """Click a row's cell well right of the selection checkbox (the grid is a canvas)."""
    _settled(page)
    grid = page.get_by_test_id("stDataFrame")
    grid.scroll_into_view_if_needed()
    grid.click(position={"x": x, "y": ROW_HEIGHT + ROW_HEIGHT * index + ROW_HEIGHT // 2})


def _open_in_form(page, serial: str, contact: str) -> None:
    from playwright.sync_api import expect

    _click_row(page, 0)
    expect(page.get_by_label("询保流水号")).to_have_value(serial)
    expect(page.get_by_label("*联系人")).to_have_value(contact)
    _settled(page)


def test_the_saved_message_is_in_view_at_the_buttons(page, app_server, shots):
    from playwright.sync_api import expect

    page.set_viewport_size(LAPTOP)
    login(page, app_server, "company")
    _fill(page, contact=_unique_contact())
    save = page.get_by_role("button", name="保存")
    save.scroll_into_view_if_needed()
    _in_view(page, save)
    assert page.get_by_test_id("stMain").evaluate("el => el.scrollTop") > 0  # really scrolled
    save.click()
    toast = _toast(page, "已保存为暂存")
    expect(toast).to_be_visible()
    _in_view(page, toast)
    beside = _beside_buttons(page, "已保存为暂存")
    expect(beside).to_be_visible()
    _in_view(page, beside)
    page.screenshot(path=shots / "01-saved-at-the-buttons.png")
    # The success fades by itself.
    expect(toast).to_have_count(0, timeout=15_000)


def test_a_save_conflict_from_another_tab_is_in_view(browser, app_server, shots):
    from playwright.sync_api import expect

    contact = _unique_contact()
    _, serial = _draft_of_company(app_server.database_url, contact)
    tabs = []
    for _ in range(2):  # the same user in two windows (separate browser contexts)
        context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
        tab = context.new_page()
        login(tab, app_server, "company")
        _open_in_form(tab, serial, contact)
        tabs.append(tab)
    first, second = tabs
    try:
        first.get_by_label("*联系人").fill(contact + "甲")
        first.get_by_label("*联系人").press("Tab")
        _settled(first)
        first.get_by_role("button", name="保存").click()
        expect(_toast(first, f"已保存为暂存，询保流水号 {serial}")).to_be_visible()

        second.get_by_label("*联系人").fill(contact + "乙")
        second.get_by_label("*联系人").press("Tab")
        _settled(second)
        save = second.get_by_role("button", name="保存")
        save.scroll_into_view_if_needed()
        save.click()
        toast = _toast(second, "已在别处被修改")
        expect(toast).to_be_visible()
        _in_view(second, toast)
        beside = _beside_buttons(second, "已在别处被修改")
        expect(beside).to_be_visible()
        _in_view(second, beside)
        expect(second.get_by_label("*联系人")).to_have_value(contact + "乙")  # nothing lost
        second.screenshot(path=shots / "01-conflict-in-view.png")
        # A conflict stays until it is closed, unlike a success.
        second.wait_for_timeout(6_000)
        expect(toast).to_be_visible()
        toast.get_by_role("button", name="Close").click()
        expect(toast).to_have_count(0)

        # The way out, right there: reopen the draft as the other tab saved it.
        second.get_by_role("button", name="重新打开该申请").click()
        expect(second.get_by_label("*联系人")).to_have_value(contact + "甲")
        expect(beside).to_have_count(0)
        second.screenshot(path=shots / "02-reopened.png")
    finally:
        for tab in tabs:
            tab.context.close()


def test_clicking_a_row_not_its_checkbox_opens_it(page, app_server, shots):
    from playwright.sync_api import expect

    page.set_viewport_size(LAPTOP)
    contact = _unique_contact()
    _, serial = _draft_of_company(app_server.database_url, contact)
    login(page, app_server, "company")
    expect(page.get_by_label("询保流水号")).to_have_value("")
    _click_row(page, 0, x=600)  # the middle of the row, far from the checkbox
    expect(page.get_by_label("询保流水号")).to_have_value(serial)
    expect(page.get_by_label("*联系人")).to_have_value(contact)
    opened = _toast(page, f"已在上方表单中打开询保申请 {serial}")
    expect(opened).to_be_visible()
    _in_view(page, opened)
    page.screenshot(path=shots / "01-row-clicked.png")


def test_the_list_fits_the_window_and_shows_company_names_in_full(page, app_server, shots):
    from playwright.sync_api import expect

    username = _new_company(app_server.database_url, "丙公司国际贸易有限公司")
    for _ in range(3):
        _draft_of_company(app_server.database_url, _unique_contact(), username=username)
    page.set_viewport_size(LAPTOP)
    login(page, app_server, username, NEW_PASSWORD)
    grid = page.get_by_test_id("stDataFrame")
    grid.scroll_into_view_if_needed()
    _settled(page)
    headers = grid.locator("th")
    # One company name throughout (the account's own): no column repeating it, so that every
    # column, 申请状态 included, fits a laptop's window without scrolling sideways.
    expect(headers).to_have_text(
        ["询保流水号", "联系人", "联系电话", "联系邮箱", "询保内容", "提交日期", "申请状态"]
    )
    assert grid.locator(".dvn-scroller").evaluate("el => el.scrollWidth <= el.clientWidth")
    page.screenshot(path=shots / "01-list-one-company.png")

    # A draft filed under a branch's name: now the column tells rows apart, in full.
    branch = "深圳市前海蛇口自由贸易试验区国际供应链管理有限公司第一分公司"
    _draft_of_company(
        app_server.database_url, _unique_contact(), username=username, company_name=branch
    )
    page.get_by_role("button", name="新增").click()  # any run lists the new draft
    expect(headers.nth(1)).to_have_text("公司名称")
    expect(grid.locator("td").filter(has_text=branch)).to_have_count(1)
    grid.scroll_into_view_if_needed()
    _settled(page)
    page.screenshot(path=shots / "02-list-branch.png")


def test_a_company_without_inquiries_is_told_so(page, app_server, shots):
    from playwright.sync_api import expect

    username = _new_company(app_server.database_url, "丁公司国际贸易有限公司")
    page.set_viewport_size(LAPTOP)
    login(page, app_server, username, NEW_PASSWORD)
    empty = page.get_by_text("您还没有询保申请")
    expect(empty).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    empty.scroll_into_view_if_needed()
    page.screenshot(path=shots / "01-empty.png")
