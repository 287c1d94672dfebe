"""Routing and the reply in a real browser, end to end: an administrator makes a rule on 分配规则
(陕西省 → a team with one staff member), a company submits an inquiry from 陕西省, it is in that
staff member's 我的待办, they complete it with a 处理意见 (and an internal 备注), and the company
reads the reply, with the completion time, on its own page — and not the 备注.

A server of its own: the rule would route other tests' inquiries on the shared one.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

import pytest

from tests.e2e.conftest import (
    _need_chromium,
    login,
    start_server,
    stop_server,
    wait_for_session_cookie,
)

pytestmark = pytest.mark.e2e

TALL = {"width": 1400, "height": 2000}  # Streamlit scrolls inside the page: show it all
WIDE = {"width": 1400, "height": 1000}
ROW_HEIGHT = 35
REPLY = "已为贵司安排短期险承保方案，客户经理将于三个工作日内联系您。"
INTERNAL = "内部备注：客户对费率敏感"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_chromium()
    started = start_server(tmp_path_factory.mktemp("routing-e2e"), demo_rows=60)
    yield started
    stop_server(started)


def _settled(page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=20_000
    )


def _choose(page, label: str, option: str, *, typed: str | None = None) -> None:
    from playwright.sync_api import expect

    _settled(page)
    box = page.get_by_role("combobox", name=label, exact=True).and_(page.locator(":enabled"))
    box.click()
    box.fill(typed or option)  # the option list is virtualised: narrow it first
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def _beside(page, text: str):
    """A message drawn in the page body (beside the pressed button), not a toast."""
    return page.get_by_test_id("stMain").get_by_test_id("stAlertContainer").filter(has_text=text)


def _switch_user(page, server, username: str) -> None:
    page.context.clear_cookies()
    login(page, server, username)


def _admin_makes_the_rule(page, server, shots) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(TALL)
    login(page, server, "admin")
    wait_for_session_cookie(page)  # the next page load logs in with it
    page.goto(f"{server.url}/routing")
    expect(page.get_by_role("heading", name="分配规则")).to_be_visible(timeout=20_000)
    page.get_by_label("团队名称").fill("西北业务组")
    page.get_by_role("button", name="新建团队").click()
    expect(_beside(page, "已新建团队“西北业务组”")).to_be_visible()
    _choose(page, "添加成员", "业务人员小李（staff）", typed="小李")
    page.get_by_role("button", name="添加", exact=True).click()
    expect(_beside(page, "已将 业务人员小李（staff） 加入团队“西北业务组”")).to_be_visible()
    _choose(page, "省/市", "陕西省")
    _choose(page, "团队", "西北业务组")
    page.get_by_role("button", name="添加规则").click()
    expect(_beside(page, "已新增规则：陕西省 · 全部城市 · 全部询保内容")).to_be_visible()
    _settled(page)
    page.screenshot(path=shots / "01-routing-rule.png", full_page=True)


def _company_submits(page, server, contact: str) -> str:
    from playwright.sync_api import expect

    _switch_user(page, server, "company")
    expect(page.get_by_role("heading", name="询保申请", exact=True)).to_be_visible()
    _choose(page, "省/市", "陕西省")
    _choose(page, "市", "西安市")
    _choose(page, "区", "雁塔区")
    page.get_by_label("*详细地址").fill("高新路1号")
    page.get_by_label("*联系人").fill(contact)
    page.get_by_label("*联系手机").fill("13912345678")
    page.get_by_label("*联系固话").fill("029-87654321")
    page.get_by_label("*联系邮箱").fill("e2e@example.com")
    page.get_by_label("*联系邮箱").press("Tab")
    page.get_by_role("button", name="提交", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="确认提交").click()
    expect(_beside(page, "已提交，询保流水号")).to_be_visible(timeout=20_000)
    # The message and the form's serial arrive in one rerun, but not always in one paint.
    expect(page.get_by_label("询保流水号")).to_have_value(re.compile(r"^\d{18}$"))
    serial = page.get_by_label("询保流水号").input_value()
    return serial


def _staff_completes(page, server, serial: str, shots) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(WIDE)
    _switch_user(page, server, "staff")
    sidebar = page.get_by_test_id("stSidebar")
    queue = sidebar.get_by_role("button", name=re.compile(r"^我的待办（\d+）$"))
    expect(queue).to_be_visible(timeout=20_000)
    queue.click()
    expect(page).to_have_url(re.compile(r"assignee=me"))
    _settled(page)
    search = sidebar.get_by_label("搜索")
    search.fill(serial)
    search.press("Enter")  # a complete serial that finds one inquiry opens it
    expect(page.get_by_role("heading", name=f"询保申请 {serial}")).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile(r"^自动分配：负责人：业务人员小李"))).to_be_visible()
    page.screenshot(path=shots / "02-my-queue.png", full_page=True)
    page.get_by_label("备注内容").fill(INTERNAL)
    page.get_by_role("button", name="添加备注").click()
    expect(_beside(page, "备注已添加")).to_be_visible()
    page.get_by_label("处理意见", exact=True).fill(REPLY)
    page.get_by_role("button", name="标记为已完成").click()
    expect(_beside(page, f"已将 询保申请 {serial} 标记为已完成")).to_be_visible()
    _settled(page)
    page.screenshot(path=shots / "03-completed.png", full_page=True)


def test_a_routed_inquiry_is_completed_with_a_reply_the_company_reads(page, server, shots):
    from playwright.sync_api import expect

    _admin_makes_the_rule(page, server, shots)
    contact = "测试" + uuid.uuid4().hex[:6]
    serial = _company_submits(page, server, contact)
    _staff_completes(page, server, serial, shots)

    page.set_viewport_size(TALL)
    _switch_user(page, server, "company")
    _settled(page)
    grid = page.get_by_test_id("stDataFrame")  # the company's list, newest first
    grid.click(position={"x": 16, "y": ROW_HEIGHT + ROW_HEIGHT // 2})
    expect(page.get_by_label("询保流水号")).to_have_value(serial, timeout=20_000)
    reply = page.get_by_test_id("stMain").locator(".st-key-entry_reply")
    expect(reply).to_be_visible()
    expect(reply.get_by_text("处理意见", exact=True)).to_be_visible()
    # stored as every text is (NFKC: the full-width comma becomes ",")
    expect(reply.get_by_text(unicodedata.normalize("NFKC", REPLY))).to_be_visible()
    expect(
        reply.get_by_text(re.compile(r"^完成时间：\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    ).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"^办理进度：已提交（.*业务人员已受理.*已完成（"))
    ).to_be_visible()
    assert INTERNAL not in page.get_by_test_id("stMain").inner_text()
    assert "业务人员小李" not in page.get_by_test_id("stMain").inner_text()
    _settled(page)
    page.screenshot(path=shots / "04-company-reads-reply.png", full_page=True)
    reply.screenshot(path=shots / "05-reply-box.png")
