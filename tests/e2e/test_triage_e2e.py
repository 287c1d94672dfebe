"""咨询处理 in a real browser: filter by province and intent, open an inquiry, complete it, reload
the shared URL and see the same filtered view; export a CSV and read it back."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _pick(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.keyboard.type(option)  # the option list is virtualised: narrow it first
    page.get_by_role("option", name=option, exact=True).click()


def _submitted_in_guangdong(database_url: str, n: int = 2) -> None:
    """``n`` submitted 广东 + 我要投保 inquiries written through the domain: the demo data's
    own ones age into 已完成 as the clock moves, so the test does not rely on them."""
    from dashboard import accounts, db, inquiries
    from tests.conftest import valid_form

    engine = db.create_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            company = accounts.get_by_username(session, "company")
            for _ in range(n):
                form = valid_form(
                    company_name=company.company_name,
                    province_code="440000",
                    city_code="440300",
                    district_code="440305",
                    intent="insure",
                )
                inquiries.submit(session, actor=company, form=form)
    finally:
        engine.dispose()


def _total(page) -> int:
    text = page.get_by_text(re.compile(r"^共 [\d,]+ 条$")).inner_text()
    return int(re.sub(r"\D", "", text))


def test_staff_filters_opens_completes_reloads_and_exports(page, app_server, shots):
    from playwright.sync_api import expect

    _submitted_in_guangdong(app_server.database_url)
    login(page, app_server, "staff")
    expect(page.get_by_role("heading", name="咨询处理")).to_be_visible()
    _pick(page, "省/市", "广东省")
    expect(page).to_have_url(re.compile(r"province=440000"))
    _pick(page, "询保内容", "我要投保")
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"intent=insure"))
    expect(page.get_by_text(re.compile(r"^共 [\d,]+ 条$"))).to_be_visible()
    before = _total(page)
    assert before >= 2
    page.screenshot(path=shots / "filtered.png", full_page=True)

    # select the first row (the row marker at the left of the grid) → the detail opens
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
    expect(page.get_by_role("heading", name=re.compile(r"^询保申请 \d{18}$"))).to_be_visible()
    expect(page.get_by_text("处理记录")).to_be_visible()
    expect(page).to_have_url(re.compile(r"open=\d+"))
    page.screenshot(path=shots / "detail.png", full_page=True)
    page.get_by_label("处理意见", exact=True).fill("已电话联系，客户已投保")
    page.get_by_role("button", name="标记为已完成").click()
    expect(page.get_by_text(re.compile(r"^已将 询保申请 \d{18} 标记为已完成$"))).to_be_visible()
    expect(page.get_by_text(f"共 {before - 1:,} 条", exact=True)).to_be_visible()
    page.screenshot(path=shots / "completed.png", full_page=True)

    # the URL is the view: open it afresh (a new browser session logs in again)
    shared = page.url
    assert "province=440000" in shared and "intent=insure" in shared
    page.context.clear_cookies()
    page.goto(shared)
    page.get_by_label("用户名").fill("staff")
    page.get_by_label("密码").fill("demo-pass-2026")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text(f"共 {before - 1:,} 条", exact=True)).to_be_visible(timeout=20_000)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="省/市")).to_have_value("广东省")
    expect(sidebar.get_by_text("我要投保")).to_be_visible()
    page.screenshot(path=shots / "reloaded.png", full_page=True)

    # export the current filter and read it back
    page.get_by_role("button", name="导出 CSV").click()
    download_button = page.get_by_role("button", name=re.compile(r"下载 CSV"))
    expect(download_button).to_be_visible(timeout=20_000)
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as f:
        data = f.read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["询保流水号", "公司名称"]
    assert len(rows) - 1 == before - 1
    assert {r[2] for r in rows[1:]} == {"广东省"} and {r[10] for r in rows[1:]} == {"我要投保"}
    # the download did not reset the page
    expect(page.get_by_text(f"共 {before - 1:,} 条", exact=True)).to_be_visible()
    page.screenshot(path=shots / "exported.png", full_page=True)
