"""统计报表 in a real browser: the manager opens the page, every chart is drawn, the period is
stored in the URL, and choosing a province drills down to its cities and back."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _pick(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()


def test_manager_sees_charts_and_drills_down_to_cities(page, app_server, shots):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, app_server, "manager")
    page.get_by_role("link", name="统计报表").click()
    expect(page.get_by_role("heading", name="统计报表")).to_be_visible()
    _pick(page, "期间", "全部")
    expect(page).to_have_url(re.compile(r"from=2000-01-01"))
    expect(page.get_by_role("heading", name="处理效率")).to_be_visible(timeout=20_000)
    charts = page.locator(".vega-embed")
    expect(charts.first).to_be_visible()
    expect(page.locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible()
    assert charts.count() >= 5
    expect(page.get_by_text(re.compile(r"^本期新增 [\d,]+ 条咨询"))).to_be_visible()
    page.screenshot(path=shots / "reports-top.png")
    page.get_by_role("heading", name="按地区").scroll_into_view_if_needed()
    page.screenshot(path=shots / "reports-region.png")

    _pick(page, "查看省份的城市", "广东省")
    expect(
        page.get_by_text(re.compile(r"^广东省本期共 [\d,]+ 条咨询，来自 \d+ 个城市"))
    ).to_be_visible()
    page.get_by_role("heading", name="按地区").scroll_into_view_if_needed()
    page.screenshot(path=shots / "reports-cities.png")
    page.get_by_role("button", name="返回全部省份").click()
    expect(page.get_by_text(re.compile(r"^咨询最多的省份是"))).to_be_visible()
