"""咨询处理 in Chromium at 1440×900: the list shows 申请状态, 负责人, 等待时长 and 超时 without
horizontal scrolling, beside the detail panel too; a header click sorts every result (as 排序
does), and the column menu offers no sort of the rows on screen; the result of 标记为已完成
(single and bulk) appears inside the window; an empty result says so in Chinese.

The grid is drawn on a canvas. What it shows is read from the accessible table that
glide-data-grid keeps inside it, which holds the header cells of the columns in view (also of a
column cut off at the right edge), and from its scroller: no horizontal scrolling means the
scroller's content is no wider than the scroller itself.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 1440, "height": 900}
TRIAGE_COLUMNS = {"申请状态", "负责人", "等待时长", "超时"}
ROW_HEIGHT = 35
MARKERS = 32  # the width of the row selection checkboxes at the grid's left edge


def _submitted(database_url: str, n: int) -> tuple[str, list[str]]:
    """``n`` submitted inquiries of the demo company, written through the domain into the
    server's database, whose company names carry a fresh tag: (tag, serials, oldest first)."""
    from dashboard import accounts, db, inquiries
    from tests.conftest import valid_form

    tag = f"版面{secrets.token_hex(3)}"
    engine = db.create_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            company = accounts.get_by_username(session, "company")
            serials = [
                inquiries.submit(
                    session,
                    actor=company,
                    form=valid_form(company_name=f"{tag}第{i:02d}贸易有限公司"),
                ).serial
                for i in range(n)
            ]
    finally:
        engine.dispose()
    return tag, serials


def _settled(page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=20_000
    )


def _search(page, text: str) -> None:
    from playwright.sync_api import expect

    _settled(page)
    box = page.get_by_test_id("stSidebar").get_by_label("搜索")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(urllib.parse.quote(text))))
    _settled(page)


def _list(page):
    return page.get_by_test_id("stDataFrame").first


def _grid(grid) -> dict:
    """The header cells in view, the scroller's content and visible widths."""
    # the accessible table is filled in once the grid has drawn
    grid.locator("thead th").first.wait_for(state="attached")
    return grid.evaluate(
        """g => {
            const s = g.querySelector('.dvn-scroller');
            return {
                headers: Array.from(g.querySelectorAll('thead th')).map(th => th.textContent),
                content: s.scrollWidth,
                visible: s.clientWidth,
            };
        }"""
    )


def _cell(grid, column: int, row: int):
    """A cell of the accessible table (column 0 holds the row checkboxes)."""
    return grid.locator(f'[data-testid="glide-cell-{column}-{row}"]')


def _in_window(page, locator) -> dict:
    """The element's box, asserted to lie inside the window (Streamlit scrolls inside the page,
    so an element can be "visible" in the DOM sense and still be scrolled out of view)."""
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], box
    return box


def _shows_triage_columns_whole(page, grid) -> None:
    seen = _grid(grid)
    assert set(seen["headers"]) >= TRIAGE_COLUMNS, seen
    assert seen["content"] <= seen["visible"], f"the table scrolls sideways: {seen}"
    _in_window(page, grid)


def _retried(page, act, done, what: str) -> None:
    """``act()`` until ``done()`` passes: a click that falls into a rerun of the page can be
    lost (the grid is drawn again under it), so it is made again, but only while its effect is
    missing."""
    for _ in range(3):
        _settled(page)
        act()
        try:
            done()
            return
        except AssertionError:
            continue
    raise AssertionError(f"{what} had no effect after 3 tries")


def _select_row(page, grid, row: int) -> None:
    from playwright.sync_api import expect

    def click():
        expect(grid.locator("tbody td").first).to_be_attached()  # the grid has drawn its rows
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT // 2)

    selected = grid.locator(f'tbody tr:nth-child({row + 1})[aria-selected="true"]')
    _retried(page, click, lambda: expect(selected).to_be_attached(timeout=5_000), "row click")
    _settled(page)


def _selected_rows(grid):
    return grid.locator('tbody tr[aria-selected="true"]')


def _open_first_row(page, grid) -> None:
    from playwright.sync_api import expect

    _select_row(page, grid, 0)
    heading = page.get_by_role("heading", name=re.compile(r"^询保申请 \d{18}$"))
    expect(heading).to_be_visible(timeout=20_000)
    _settled(page)


def _click_header(page, grid, x_offset: float, sort: str) -> None:
    """Click a header cell (``x_offset`` from the grid's left edge) until the URL says the list
    is sorted by ``sort``."""
    from playwright.sync_api import expect

    def click():
        box = grid.bounding_box()
        page.mouse.click(box["x"] + x_offset, box["y"] + ROW_HEIGHT // 2)

    pattern = re.compile(r"[?&]sort=" + re.escape(sort) + r"(&|$)")
    _retried(page, click, lambda: expect(page).to_have_url(pattern, timeout=5_000), "header")
    _settled(page)


def _order_by_serial(page) -> None:
    from playwright.sync_api import expect

    def pick_order():
        page.get_by_role("combobox", name="排序").click()
        page.get_by_role("option", name="询保流水号（小→大）", exact=True).click()

    by_serial = re.compile(r"[?&]sort=serial(&|$)")
    _retried(page, pick_order, lambda: expect(page).to_have_url(by_serial, timeout=5_000), "排序")
    _settled(page)


def _to_second_of_two_pages(page) -> None:
    from playwright.sync_api import expect

    second = page.get_by_text("第 2 / 2 页", exact=True)
    _retried(
        page,
        lambda: page.get_by_test_id("stNumberInputStepUp").click(),
        lambda: expect(second).to_be_visible(timeout=5_000),
        "页码 +",
    )
    _settled(page)


def _page_size(page, size: str) -> None:
    from playwright.sync_api import expect

    def pick():
        page.get_by_role("combobox", name="每页条数").click()
        page.get_by_role("option", name=size, exact=True).click()

    pattern = re.compile(r"[?&]size=" + size)
    _retried(page, pick, lambda: expect(page).to_have_url(pattern, timeout=5_000), "每页条数")
    _settled(page)


def test_the_list_shows_the_triage_columns_without_scrolling(page, app_server, shots):
    from playwright.sync_api import expect

    tag, _ = _submitted(app_server.database_url, 14)
    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")
    _search(page, tag)
    expect(page.get_by_text("共 14 条", exact=True)).to_be_visible()
    grid = _list(page)
    _shows_triage_columns_whole(page, grid)
    # more than 10 of the 14 rows at once, and the whole table inside the window
    assert grid.bounding_box()["height"] >= 12 * ROW_HEIGHT
    page.screenshot(path=shots / "list.png")

    _open_first_row(page, grid)
    _shows_triage_columns_whole(page, grid)
    heading = page.get_by_role("heading", name=re.compile(r"^询保申请 \d{18}$"))
    list_box, detail_box = grid.bounding_box(), heading.bounding_box()
    assert list_box["x"] + list_box["width"] <= detail_box["x"], (list_box, detail_box)
    assert list_box["height"] >= 12 * ROW_HEIGHT
    page.screenshot(path=shots / "beside-detail.png")


def test_a_header_click_sorts_every_result_and_the_menu_offers_no_page_sort(
    page, app_server, shots
):
    from playwright.sync_api import expect

    tag, serials = _submitted(app_server.database_url, 25)
    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")
    _search(page, tag)
    _page_size(page, "20")
    grid = _list(page)
    expect(_cell(grid, 1, 0)).to_have_text(serials[-1])  # newest first: the oldest is on page 2

    _click_header(page, grid, MARKERS + 40, "-serial")  # in 询保流水号
    expect(_cell(grid, 1, 0)).to_have_text(max(serials))
    _click_header(page, grid, MARKERS + 40, "serial")
    # the smallest serial of all 25, which was on page 2: the whole result was sorted
    expect(_cell(grid, 1, 0)).to_have_text(min(serials))
    expect(page.get_by_role("combobox", name="排序")).to_have_value("询保流水号（小→大）")
    assert "询保流水号 ↑" in _grid(grid)["headers"]

    # the ⋮ menu of the last column (超时, which ends at the grid's right edge)
    box = grid.bounding_box()
    right = box["x"] + box["width"]
    page.mouse.move(right - 30, box["y"] + ROW_HEIGHT // 2)
    page.mouse.click(right - 14, box["y"] + ROW_HEIGHT // 2)
    menu = page.get_by_test_id("stDataFrameColumnMenu")
    expect(menu).to_be_visible()
    expect(menu.get_by_text("Pin column")).to_be_visible()  # it is the column menu, open
    expect(menu.get_by_text("Sort ascending")).to_be_hidden()
    expect(menu.get_by_text("Sort descending")).to_be_hidden()
    page.screenshot(path=shots / "column-menu.png")
    page.keyboard.press("Escape")
    expect(_cell(grid, 1, 0)).to_have_text(min(serials))


def test_the_completion_result_appears_inside_the_window(page, app_server, shots):
    from playwright.sync_api import expect

    tag, serials = _submitted(app_server.database_url, 4)
    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")
    _search(page, tag)
    expect(page.get_by_text("共 4 条", exact=True)).to_be_visible()
    grid = _list(page)
    _open_first_row(page, grid)
    button = page.get_by_role("button", name="标记为已完成")
    button.scroll_into_view_if_needed()
    page.get_by_label("处理意见", exact=True).fill("已电话联系")
    button.click()
    message = page.get_by_text(f"已将 询保申请 {serials[-1]} 标记为已完成", exact=True)
    expect(message).to_be_visible()
    _settled(page)
    box = _in_window(page, message)
    list_box = grid.bounding_box()
    assert box["x"] >= list_box["x"] + list_box["width"], "not in the detail panel"
    page.screenshot(path=shots / "completed.png")

    # bulk: close the detail, select two rows (the first opens), confirm
    page.get_by_role("button", name="关闭").click()
    expect(page.get_by_role("heading", name=re.compile(r"^询保申请 \d{18}$"))).to_have_count(0)
    expect(page.get_by_text("共 3 条", exact=True)).to_be_visible()
    _open_first_row(page, grid)
    _select_row(page, grid, 1)
    expect(page.get_by_text("已选择 2 条询保申请", exact=True)).to_be_visible()
    page.get_by_role("button", name="批量标记为已完成").click()
    confirm = page.get_by_role("button", name="确认完成 2 条")
    confirm.scroll_into_view_if_needed()
    confirm.click()
    message = page.get_by_text("已将 2 条询保申请 标记为已完成", exact=True)
    expect(message).to_be_visible()
    _settled(page)
    _in_window(page, message)
    expect(page.get_by_text("共 1 条", exact=True)).to_be_visible()
    # the row left is not shown as selected: the positions belonged to the rows completed
    expect(_selected_rows(grid)).to_have_count(0)
    page.screenshot(path=shots / "bulk-completed.png")


def test_a_new_order_page_or_filter_clears_the_selection_in_the_browser(page, app_server, shots):
    """A selection holds row positions: when other rows come under it (another order, page or
    filter) the browser must show none selected, and the new rows start at the top."""
    from playwright.sync_api import expect

    tag, serials = _submitted(app_server.database_url, 25)
    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")
    _search(page, tag)
    _page_size(page, "20")
    grid = _list(page)
    _open_first_row(page, grid)
    _select_row(page, grid, 1)
    expect(page.get_by_text("已选择 2 条询保申请", exact=True)).to_be_visible()
    grid.hover()
    page.mouse.wheel(0, 2_000)
    page.wait_for_function(
        "g => g.querySelector('.dvn-scroller').scrollTop > 0", arg=grid.element_handle()
    )

    # a new order: the other end of the 25, from the top, nothing selected
    _order_by_serial(page)
    expect(_cell(grid, 1, 0)).to_have_text(f"{tag}第00贸易有限公司")  # beside the detail panel
    expect(_selected_rows(grid)).to_have_count(0)
    expect(page.get_by_text("已选择 2 条询保申请", exact=True)).to_have_count(0)
    # (the scroll to the top is a script of the page: it may run after the run has ended)
    page.wait_for_function(
        "g => g.querySelector('.dvn-scroller').scrollTop === 0",
        arg=grid.element_handle(),
        timeout=5_000,
    )
    page.screenshot(path=shots / "new-order-no-selection.png")

    # another page
    _select_row(page, grid, 1)
    _select_row(page, grid, 2)
    expect(_selected_rows(grid)).to_have_count(2)
    _to_second_of_two_pages(page)
    expect(_cell(grid, 1, 0)).to_have_text(f"{tag}第20贸易有限公司")
    expect(_selected_rows(grid)).to_have_count(0)

    # another filter
    _select_row(page, grid, 1)
    _select_row(page, grid, 2)
    expect(_selected_rows(grid)).to_have_count(2)
    _search(page, serials[0][:-1])  # the serials that share all but the last digit
    expect(_selected_rows(grid)).to_have_count(0)
    expect(page.get_by_text("已选择 2 条询保申请", exact=True)).to_have_count(0)


def _scrolled_down(page, grid) -> None:
    grid.hover()
    page.mouse.wheel(0, 2_000)
    page.wait_for_function(
        "g => g.querySelector('.dvn-scroller').scrollTop > 0", arg=grid.element_handle()
    )


def _at_top(page, grid) -> None:
    # the scroll to the top is a script of the page: it may run after the run has ended
    page.wait_for_function(
        "g => g.querySelector('.dvn-scroller').scrollTop === 0",
        arg=grid.element_handle(),
        timeout=5_000,
    )


def test_a_new_result_without_a_selection_keeps_the_grid_and_starts_at_its_top(
    page, app_server, shots
):
    """Nothing selected: other rows (another order, another page) come into the same grid, which
    the browser then need not build anew, scrolled back to their first row; a row click in it
    opens the row it shows."""
    from playwright.sync_api import expect

    tag, serials = _submitted(app_server.database_url, 25)
    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")
    _search(page, tag)
    _page_size(page, "20")
    grid = page.locator(".st-key-triage_table_0").get_by_test_id("stDataFrame")
    expect(grid).to_be_visible()
    # a mark on the grid's own element: still there after a change = the same grid
    grid.evaluate("g => { g.querySelector('.dvn-scroller').dataset.probe = 'kept'; }")
    kept = grid.locator('.dvn-scroller[data-probe="kept"]')
    _scrolled_down(page, grid)

    _order_by_serial(page)
    expect(_cell(grid, 2, 0)).to_have_text(f"{tag}第00贸易有限公司")
    _at_top(page, grid)
    expect(kept).to_have_count(1)
    page.screenshot(path=shots / "new-order-same-grid.png")

    _scrolled_down(page, grid)
    _to_second_of_two_pages(page)
    expect(_cell(grid, 2, 0)).to_have_text(f"{tag}第20贸易有限公司")
    _at_top(page, grid)
    expect(kept).to_have_count(1)

    _select_row(page, grid, 0)
    heading = page.get_by_role("heading", name=f"询保申请 {serials[20]}", exact=True)
    expect(heading).to_be_visible(timeout=20_000)
    page.screenshot(path=shots / "same-grid-row-opened.png")


def test_an_empty_result_says_so_in_chinese(page, app_server, shots):
    from playwright.sync_api import expect

    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")
    _search(page, f"没有这家公司{secrets.token_hex(3)}")
    expect(page.get_by_text("共 0 条", exact=True)).to_be_visible()
    expect(page.get_by_text("没有符合条件的询保申请", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    assert "empty" not in page.get_by_test_id("stMain").inner_text()
    page.screenshot(path=shots / "empty.png")
