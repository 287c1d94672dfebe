"""Page sequences in a real browser, for every role: every page opens cleanly after every other
page, any number of times; no path shows a traceback or an English error; user text that looks
like markdown shows as typed.

The regression behind it: a manager who opened 统计报表 and then 咨询处理 got ``KeyError:
st.session_state has no key "triage_assignee"`` (Streamlit drops a widget's value once a run draws
another page) on every later visit. Screenshots (1440×900) of each page after A → B → A go to
/tmp/nav-shots/ for a look.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from pathlib import Path

import pytest

from tests.e2e.conftest import DEMO_PASSWORD, login, wait_for_session_cookie

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/nav-shots")
VIEWPORT = {"width": 1440, "height": 900}
LOGIN_TITLE = "投保咨询系统"
#: Sidebar link (page title in st.navigation) → the page's h1.
H1 = {
    "投保咨询": "询保申请",
    "咨询处理": "咨询处理",
    "统计报表": "统计报表",
    "用户管理": "用户管理",
}
ROLE_PAGES = {
    "company": ["投保咨询"],
    "staff": ["咨询处理"],
    "manager": ["咨询处理", "统计报表"],
    "admin": ["用户管理"],
}
#: What a user may never read on a page (case-sensitive: icon ligatures such as "error" are text).
ENGLISH_ERRORS = re.compile(r"Traceback|KeyError|Error|Exception|Page not found")
TOTAL = re.compile(r"^共 [\d,]+ 条$")


# --------------------------------------------------------------------------------------------
# Helpers


def _settled(page) -> None:
    """The script run that drew what the caller waited for has finished."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=20_000
    )


def _page_content(page, link: str | None):
    """A concrete result of the page behind ``link`` (the login page for None): what to wait
    for before looking."""
    if link is None:
        return page.get_by_role("button", name="登录", exact=True)
    if link == "咨询处理":
        return page.get_by_text(TOTAL)
    if link == "统计报表":
        return page.get_by_text(re.compile(r"^统计期间："))
    if link == "用户管理":
        return page.get_by_test_id("stDataFrame").first
    return page.get_by_role("heading", name="询保申请列表")  # 投保咨询


def _check_clean(page, link: str | None) -> None:
    """The page behind ``link`` (None: the login page) is on screen, whole and without errors."""
    from playwright.sync_api import expect

    title = LOGIN_TITLE if link is None else H1[link]
    exception = page.locator('[data-testid="stException"]')
    catch_all = page.get_by_text("系统出现意外错误")  # app.py's message for anything unexpected
    # Whichever comes first: the page's content, or a failure instead of it.
    expect(_page_content(page, link).or_(exception).or_(catch_all).first).to_be_visible(
        timeout=30_000
    )
    _settled(page)
    expect(exception).to_have_count(0)
    expect(catch_all).to_have_count(0)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(title)
    expect(_page_content(page, link)).to_be_visible()
    text = page.locator("body").inner_text()  # dialogs included
    found = ENGLISH_ERRORS.findall(text)
    assert not found, f"{title}: the page shows {found}:\n{text[-1500:]}"
    expect(page.get_by_role("dialog")).to_have_count(0)
    if link == "咨询处理":
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    elif link is None:
        expect(page.get_by_text("演示模式")).to_be_visible()
    elif link == "投保咨询":
        expect(page.get_by_role("button", name="提交", exact=True)).to_be_visible()


def _go(page, link: str) -> None:
    """Click ``link`` in the sidebar navigation, like a user."""
    from playwright.sync_api import expect

    nav_link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True)
    nav_link.click()
    expect(nav_link).to_have_attribute("aria-current", "page")
    _check_clean(page, link)


def _log_in_here(page, username: str) -> None:
    """Log in through the login form already on screen (after a reload)."""
    from playwright.sync_api import expect

    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=20_000)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png")


def _query(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(page.url).query))


def _total(page) -> str:
    return page.get_by_text(TOTAL).inner_text()


def _set_triage_filter(page) -> None:
    """申请状态: also 已完成; 搜索: 深圳 (many demo companies carry a place name)."""
    from playwright.sync_api import expect

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("搜索").fill("深圳")
    sidebar.get_by_label("搜索").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(urllib.parse.quote("深圳"))))
    _settled(page)
    sidebar.get_by_label("申请状态").first.click()
    page.get_by_role("option", name="已完成", exact=True).click()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"[?&]status=submitted(,|%2C)completed"))
    _check_clean(page, "咨询处理")


def _expect_triage_filter(page, total: str) -> None:
    """The filter set by ``_set_triage_filter`` is still applied: widgets, URL and result."""
    from playwright.sync_api import expect

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_label("搜索")).to_have_value("深圳")
    statuses = sidebar.get_by_test_id("stMultiSelect").filter(has_text="申请状态")
    expect(statuses.get_by_text("已提交", exact=True)).to_be_visible()
    expect(statuses.get_by_text("已完成", exact=True)).to_be_visible()
    expect(page.get_by_text(total, exact=True)).to_be_visible()
    query = _query(page)
    assert query.get("q") == "深圳" and query.get("status") == "submitted,completed", page.url


# --------------------------------------------------------------------------------------------
# 1. A → B → A → B → A for every role


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_every_page_opens_cleanly_after_every_other_page(page, app_server, role):
    page.set_viewport_size(VIEWPORT)
    pages = ROLE_PAGES[role]
    login(page, app_server, role)
    first = pages[0]
    _check_clean(page, first)
    total = None
    if first == "咨询处理":
        _set_triage_filter(page)
        total = _total(page)

    if len(pages) == 2:
        # Through the sidebar: A → B → A → B → A.
        a, b = pages
        for step, link in enumerate([b, a, b, a], start=2):
            _go(page, link)
            if link == "咨询处理":
                _expect_triage_filter(page, total)
            if step in (3, 4):  # the page after A → B → A, and B after B → A → B
                _shot(page, f"{role}-{H1[link]}")
        return

    # One page only: away via a reload (a new browser session, logged in again by the session
    # cookie) and back, twice. The filter lives in the URL, so it survives the reload.
    wait_for_session_cookie(page)
    for round_no in (1, 2):
        page.reload()
        _check_clean(page, first)
        if total is not None:
            _expect_triage_filter(page, total)
        if round_no == 1:
            _shot(page, f"{role}-{H1[first]}")


# --------------------------------------------------------------------------------------------
# 1b. A page's URL opened while logged out (a reload, a bookmark, a page the role may not see)


@pytest.mark.parametrize(
    ("username", "path", "link"),
    [
        ("manager", "/reports", "统计报表"),
        ("staff", "/triage?status=completed", "咨询处理"),
        ("company", "/triage", "投保咨询"),  # a page this role may not see: its own page instead
    ],
    ids=["manager-reports", "staff-triage-with-filter", "company-foreign-page"],
)
def test_a_page_url_opened_logged_out_shows_the_login_then_the_page(
    page, app_server, username, path, link
):
    """DESIGN: "a logged-out visit to any such URL shows the login and then that page with
    those parameters"; nothing in English on the way."""
    page.set_viewport_size(VIEWPORT)
    page.goto(app_server.url + path)
    try:
        _check_clean(page, None)
        _log_in_here(page, username)
        _check_clean(page, link)
    finally:
        _shot(page, f"deeplink-{username}")
    if "?" in path:
        expected = dict(urllib.parse.parse_qsl(path.split("?", 1)[1]))
        assert expected.items() <= _query(page).items(), page.url


# --------------------------------------------------------------------------------------------
# 2. Markdown in user text shows as typed


MD_COMPANY = "![p](http://127.0.0.1:9/x.png)**粗体**贸易有限公司"
#: Unique per run, so that the option to pick is one even on a reused database.
MD_COLLEAGUE = f"**王五{secrets.token_hex(2)}**![q](http://127.0.0.1:9/y.png)"


def _inquiries_with_markdown(database_url: str):
    """Two submitted inquiries of the demo company with ``MD_COMPANY`` as the company name (so
    each lists the other as a possible duplicate) and a staff colleague named ``MD_COLLEAGUE``,
    written through the domain into the server's database."""
    from dashboard import accounts, db, inquiries
    from tests.conftest import valid_form

    engine = db.create_engine(database_url)
    try:
        with db.session_scope(engine) as session:
            company = accounts.get_by_username(session, "company")
            made = [
                inquiries.submit(
                    session,
                    actor=company,
                    form=valid_form(
                        company_name=MD_COMPANY,
                        mobile=f"139{secrets.randbelow(10**8):08d}",
                        email=f"md{secrets.token_hex(4)}@example.com",
                    ),
                )
                for _ in range(2)
            ]
            colleague = accounts.create_user(
                session,
                username=f"md_{secrets.token_hex(3)}",
                password=secrets.token_urlsafe(16),
                role="staff",
                display_name=MD_COLLEAGUE,
                check_password=False,
            )
            return [(i.id, i.serial) for i in made], colleague.id
    finally:
        engine.dispose()


def test_markdown_in_company_and_colleague_names_shows_as_typed(page, app_server):
    from playwright.sync_api import expect

    to_port_9: list[str] = []

    def watch(request) -> None:
        url = urllib.parse.urlparse(request.url)
        if url.hostname == "127.0.0.1" and url.port == 9:
            to_port_9.append(request.url)

    page.on("request", watch)
    page.set_viewport_size(VIEWPORT)
    login(page, app_server, "staff")  # the first page load also migrates and seeds the database
    _check_clean(page, "咨询处理")
    (_, opened_serial), (_, other_serial) = _inquiries_with_markdown(app_server.database_url)[0]
    # A complete serial that finds exactly one inquiry opens it.
    search = page.get_by_test_id("stSidebar").get_by_label("搜索")
    search.fill(opened_serial)
    search.press("Enter")
    expect(page.get_by_role("heading", name=f"询保申请 {opened_serial}")).to_be_visible(
        timeout=20_000
    )
    duplicate = page.get_by_role("button", name=re.compile(re.escape(other_serial)))
    expect(duplicate).to_be_visible()
    expect(duplicate).to_contain_text(f"{other_serial} · {MD_COMPANY} · 相同：公司名称")
    _settled(page)

    # Assign to the colleague whose display name is markdown: the message shows it as typed.
    page.get_by_label("分配给").first.click()
    page.keyboard.type("王五")
    page.get_by_role("option", name=MD_COLLEAGUE, exact=True).click()
    # 分配 acts for the colleague chosen when it was drawn: let the run after the choice finish.
    expect(page.get_by_role("combobox", name="分配给")).to_have_value(MD_COLLEAGUE)
    _settled(page)
    page.get_by_role("button", name="分配", exact=True).click()
    message = page.get_by_text(f"已将负责人设为 {MD_COLLEAGUE}", exact=True)
    expect(message).to_be_visible()
    # The message's rerun closed nothing: the duplicate button is still there.
    expect(duplicate).to_contain_text(MD_COMPANY)
    _check_clean(page, "咨询处理")
    message.scroll_into_view_if_needed()  # it is drawn at the top, above the list
    _shot(page, "staff-markdown-names-message")
    duplicate.scroll_into_view_if_needed()
    _shot(page, "staff-markdown-names-duplicates")

    expect(page.locator('img[src*="127.0.0.1:9"]')).to_have_count(0)
    # md_escape's promise: user text never turns into a link either (autolinked URLs included).
    links = page.locator('a[href*="127.0.0.1:9"]')
    assert links.count() == 0, "user text became a link: " + links.first.evaluate(
        "e => e.closest('[data-testid=stMarkdownContainer]').innerHTML"
    )
    expect(page.locator("strong, b").filter(has_text=re.compile("粗体|王五"))).to_have_count(0)
    assert not to_port_9, f"the page tried to load {to_port_9}"
