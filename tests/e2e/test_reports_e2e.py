"""统计报表 in a real browser: the manager opens the page on the last 30 days and every chart is
drawn, the period is stored in the URL, choosing a province drills down to its cities and back;
a click on the 广东省 bar or on a point of the trend opens 咨询处理 on exactly as many inquiries
as the chart says; 下载报告 saves one HTML file that opens from disk with the network blocked."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _pick(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()


def _open_reports(page, app_server) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, app_server, "manager")
    page.get_by_role("link", name="统计报表").click()
    expect(page.get_by_role("heading", name="人员工作量")).to_be_visible(timeout=20_000)
    # The page has run to its end (人员工作量 comes last): a click now is not lost in a rerun.
    expect(page.get_by_text(re.compile(r"^(本期咨询中仍有|本期没有需要处理)"))).to_be_visible(
        timeout=20_000
    )


def _scroll_to(page, heading: str) -> None:
    page.get_by_role("heading", name=heading).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(5, 5)  # no chart's hover toolbar in the screenshot


def _value(aria_label: str) -> int:
    return int(re.search(r"数量: ([\d,]+)", aria_label).group(1).replace(",", ""))


def test_manager_sees_charts_and_drills_down_to_cities(page, app_server, shots):
    from playwright.sync_api import expect

    _open_reports(page, app_server)
    expect(page).to_have_url(re.compile(r"granularity=day"))
    charts = page.locator(".vega-embed")
    expect(charts.first).to_be_visible()
    expect(page.locator(".vega-embed svg").first).to_be_visible()
    expect(charts.nth(6)).to_be_attached(timeout=20_000)  # seven charts, drawn one by one
    expect(page.get_by_text(re.compile(r"^本期新增 [\d,]+ 条咨询"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^按日统计共 30 个日"))).to_be_visible()
    page.screenshot(path=shots / "reports-top.png")
    for heading in ("按询保内容", "按地区", "趋势", "处理效率", "人员工作量"):
        _scroll_to(page, heading)
        page.wait_for_timeout(300)  # the scroll settles
        page.screenshot(path=shots / f"reports-{heading}.png")

    _pick(page, "期间", "全部")
    expect(page).to_have_url(re.compile(r"start=2000-01-01.*granularity=month"))
    expect(page.get_by_text(re.compile(r"^按月统计共 \d+ 个月"))).to_be_visible(timeout=20_000)
    _scroll_to(page, "趋势")
    page.wait_for_timeout(300)
    page.screenshot(path=shots / "reports-all-trend.png")

    _pick(page, "查看省份的城市", "广东省")
    expect(
        page.get_by_text(re.compile(r"^广东省本期共 [\d,]+ 条咨询，来自 \d+ 个城市"))
    ).to_be_visible()
    _scroll_to(page, "按地区")
    page.screenshot(path=shots / "reports-cities.png")
    page.get_by_role("button", name="返回全部省份").click()
    expect(page.get_by_text(re.compile(r"^咨询最多的省份是"))).to_be_visible()


def test_the_guangdong_bar_opens_exactly_its_inquiries_in_triage(page, app_server, shots):
    from playwright.sync_api import expect

    _open_reports(page, app_server)
    bar = page.locator(".vega-embed path[aria-label$='地区: 广东省']").first
    n = _value(bar.get_attribute("aria-label"))
    bar.scroll_into_view_if_needed()
    bar.click()
    expect(page.get_by_role("heading", name="咨询处理")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"province=440000"))
    expect(page.get_by_text(f"共 {n:,} 条", exact=True)).to_be_visible(timeout=20_000)
    page.screenshot(path=shots / "triage-from-guangdong.png")
    # Back on the report, the click is not made again.
    page.get_by_role("link", name="统计报表").click()
    expect(page.get_by_role("heading", name="人员工作量")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"/reports"))


def test_a_bar_of_the_completion_time_opens_its_completed_inquiries(page, app_server):
    from playwright.sync_api import expect

    _open_reports(page, app_server)
    bars = page.locator(".vega-embed path[aria-label^='提交到完成的用时:']")
    expect(bars.first).to_be_attached(timeout=20_000)
    labels = bars.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    best = max(range(len(labels)), key=lambda i: _value(labels[i]))
    n = _value(labels[best])
    assert n > 0
    bars.nth(best).scroll_into_view_if_needed()
    bars.nth(best).click()
    expect(page.get_by_role("heading", name="咨询处理")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"status=completed.*hours=\d+-\d*"))
    expect(page.get_by_text(f"共 {n:,} 条", exact=True)).to_be_visible(timeout=20_000)
    label = re.search(r"提交到完成的用时: ([^;]+)", labels[best]).group(1).strip()
    who = page.get_by_role("combobox", name="处理用时", exact=True)
    expect(who).to_have_value(label)


def test_a_point_of_the_trend_opens_its_days_inquiries(page, app_server):
    from playwright.sync_api import expect

    _open_reports(page, app_server)
    # The points only (Vega's symbol marks): each line is labelled with its first datum too, and
    # a click at the middle of a line's box lands on the chart's background.
    points = page.locator(".vega-embed g.mark-symbol path[aria-label^='期间:']")
    expect(points.first).to_be_attached(timeout=20_000)
    labels = points.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    best = max(range(len(labels)), key=lambda i: _value(labels[i]))
    n = _value(labels[best])
    assert n > 0
    points.nth(best).scroll_into_view_if_needed()
    points.nth(best).click(force=True)  # a point may sit on another intent's line
    expect(page.get_by_role("heading", name="咨询处理")).to_be_visible(timeout=20_000)
    # Vega describes the point's day as "Nov 18, 2026" (the browser is on Beijing time).
    when = re.search(r"期间: ([A-Z][a-z]{2} \d{2}, \d{4})", labels[best]).group(1)
    day = datetime.strptime(when, "%b %d, %Y").date().isoformat()
    expect(page).to_have_url(re.compile(rf"from={day}&to={day}"))
    expect(page.get_by_text(f"共 {n:,} 条", exact=True)).to_be_visible(timeout=20_000)


def test_the_downloaded_report_opens_offline(page, app_server, shots, tmp_path):
    from playwright.sync_api import expect

    _open_reports(page, app_server)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="下载报告").click()
    assert re.fullmatch(
        r"统计报表_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.html", download.value.suggested_filename
    )
    path = tmp_path / "report.html"
    download.value.save_as(path)

    offline = page.context.new_page()
    requested: list[str] = []

    def only_the_file(route):
        requested.append(route.request.url)
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    offline.route("**/*", only_the_file)
    offline.set_viewport_size({"width": 1000, "height": 900})
    offline.goto(path.as_uri())
    expect(offline.get_by_role("heading", name="统计报表")).to_be_visible()
    expect(offline.get_by_role("heading", name="人员工作量")).to_be_visible()
    expect(offline.get_by_text(re.compile(r"^本期新增 [\d,]+ 条咨询"))).to_be_visible()
    assert offline.locator("figure svg").count() >= 3
    assert [u for u in requested if not u.startswith("file:")] == []
    # The charts are drawn inside the page's width, none wider than its column.
    widths = offline.locator("figure svg").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().right)"
    )
    main_right = offline.locator("main").evaluate("e => e.getBoundingClientRect().right")
    assert max(widths) <= main_right + 1
    offline.screenshot(path=shots / "report-file.png", full_page=True)


def _settled_box(page, locator) -> dict:
    """The element's box once every chart of the page is drawn and it has stopped moving: the
    charts above the workload table draw at their own pace and push it around meanwhile (a click
    aimed at its header once landed on its first row under CI load)."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.vega-embed'))"
        ".every(e => e.querySelector('svg, canvas'))",
        timeout=20_000,
    )
    last = None
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None and box == last:
            return box
        last = box
        page.wait_for_timeout(150)
    raise AssertionError(f"the element kept moving: {last}")


def _sorted_descending(page, grid) -> bool:
    """Click the workload grid's 负责人 header until it is sorted descending (not the order of the
    data); False if a click opened 咨询处理 instead (it landed on a row)."""
    header = grid.locator("table th").first
    # The grid is drawn on a canvas under a scroller that takes the pointer. Playwright's own click
    # on the scroller scrolls it into view, waits until it stops moving and checks that nothing
    # covers the point, which a raw mouse click at a box read earlier does not.
    canvas = grid.locator(".dvn-scroller")
    # Clicks toggle the direction; each waits for the header to show the new one before the next.
    for _ in range(6):
        before = header.inner_text().strip()
        _settled_box(page, canvas)
        canvas.click(position={"x": 30, "y": 17})  # the header row: Streamlit's 35 px rows
        for _ in range(40):
            if "/reports" not in page.url:
                return False
            if header.inner_text().strip() != before:
                break
            page.wait_for_timeout(150)
        if "↓" in header.inner_text():
            return True
    return False


def test_a_sorted_workload_table_opens_the_person_clicked(page, app_server, shots):
    from playwright.sync_api import expect

    _open_reports(page, app_server)
    grid = page.locator("[data-testid='stDataFrame']").filter(visible=True).first
    # Under CI load a header click has, rarely, opened 咨询处理 as a click on the first row would
    # (once in CI; once in 40 runs of eight copies of this test at -n 4); not understood yet.
    # Then the sort starts again from 统计报表.
    for _attempt in range(3):
        _scroll_to(page, "人员工作量")
        # The workload grid may still be mounting when the page's last text shows: wait for it.
        expect(grid).to_be_visible(timeout=20_000)
        if _sorted_descending(page, grid):
            break
        page.get_by_role("link", name="统计报表").click()
        expect(page.get_by_text(re.compile(r"^(本期咨询中仍有|本期没有需要处理)"))).to_be_visible(
            timeout=20_000
        )
    header = grid.locator("table th").first
    canvas = grid.locator(".dvn-scroller")
    expect(header).to_contain_text("↓")
    # The grid's accessible table lists the rows as shown.
    first = grid.locator("table tr").nth(1).locator("td")
    name, waiting, _, done = (first.nth(i).inner_text() for i in range(4))
    page.screenshot(path=shots / "workload-sorted.png")
    _settled_box(page, canvas)
    canvas.click(position={"x": 30, "y": 35 + 17})  # that person's name: all their inquiries
    expect(page.get_by_role("heading", name="咨询处理")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"assignee=(\d+|me|none)"))
    total = int(waiting) + int(done)
    expect(page.get_by_text(f"共 {total:,} 条", exact=True)).to_be_visible(timeout=20_000)
    # The sidebar's 负责人 says whose they are (the manager's own row is 我).
    who = page.get_by_role("combobox", name="负责人", exact=True)
    expect(who).to_have_value(re.compile(rf"^({re.escape(name)}|我)$"))
