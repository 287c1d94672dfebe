"""Personal data in a real browser: a full phone number or e-mail never reaches the browser where
it is masked — neither the page source nor any frame the websocket delivers (the data frames
travel as Arrow tables, drawn on a canvas, so the screen alone proves nothing) — and a staff
member's full view of an inquiry is in the access log, once. Also the 个人信息处理说明 and 删除 on
the company's form, and the administrator's 访问记录."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import login, wait_for_session_cookie
from tests.e2e.test_entry_e2e import _choose

pytestmark = pytest.mark.e2e


def _db(server):
    return sa.create_engine(server.database_url)


def _contacts(engine) -> set[str]:
    """Every full mobile number and e-mail address of an inquiry staff may see."""
    with engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT mobile, email FROM inquiry WHERE status <> 'draft' AND mobile <> ''")
        ).all()
    return {value for row in rows for value in row}


def _unassigned(engine) -> tuple[int, str, str]:
    """A submitted inquiry nobody handles: (id, serial, mobile)."""
    with engine.connect() as c:
        return tuple(
            c.execute(
                sa.text(
                    "SELECT id, serial, mobile FROM inquiry WHERE status = 'submitted' "
                    "AND assignee_id IS NULL AND mobile <> '' ORDER BY id LIMIT 1"
                )
            ).one()
        )


def _views(engine, username: str, inquiry_id: int) -> int:
    with engine.connect() as c:
        return c.execute(
            sa.text(
                "SELECT COUNT(*) FROM data_access_log AS l JOIN user_account AS u "
                "ON u.id = l.actor_id WHERE u.username = :u AND l.inquiry_id = :i "
                "AND l.action = 'viewed'"
            ),
            {"u": username, "i": inquiry_id},
        ).scalar_one()


class Frames:
    """Every websocket frame the page receives, as bytes."""

    def __init__(self, page):
        self.received: list[bytes] = []
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        self.received.append(payload.encode() if isinstance(payload, str) else bytes(payload))

    def holding(self, values) -> set[str]:
        """Those of ``values`` that some frame carries."""
        return {v for v in values if any(v.encode() in frame for frame in self.received)}


def _open(page, server, inquiry_id: int, serial: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/triage?open={inquiry_id}")
    expect(page.get_by_role("heading", name=f"询保申请 {serial}")).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile(r"^共 [\d,]+ 条$"))).to_be_visible()
    page.wait_for_timeout(1500)  # let the last frames of the run arrive


def test_a_manager_never_receives_a_full_phone_number_or_email(page, app_server, shots):
    from playwright.sync_api import expect

    engine = _db(app_server)
    full = _contacts(engine)
    inquiry_id, serial, mobile = _unassigned(engine)
    frames = Frames(page)
    login(page, app_server, "manager")
    wait_for_session_cookie(page)
    _open(page, app_server, inquiry_id, serial)
    expect(page.get_by_text("联系方式仅对负责人完整显示：认领后即可查看")).to_be_visible()
    page.screenshot(path=shots / "manager_detail.png", full_page=True)
    masked = mobile[:3] + "****" + mobile[-4:]
    assert frames.holding([masked]) == {masked}  # the frames are readable: the mask is there
    page.goto(f"{app_server.url}/reports")
    expect(page.get_by_role("heading", name="统计报表")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(3000)
    page.screenshot(path=shots / "manager_reports.png", full_page=True)
    html = page.content()
    assert [v for v in full if v in html] == []
    assert frames.holding(full) == set()
    assert _views(engine, "manager", inquiry_id) == 0


def test_a_staff_members_full_view_is_in_the_access_log_once(page, app_server, shots):
    from playwright.sync_api import expect

    engine = _db(app_server)
    inquiry_id, serial, mobile = _unassigned(engine)
    before = _views(engine, "staff", inquiry_id)
    frames = Frames(page)
    login(page, app_server, "staff")
    wait_for_session_cookie(page)
    _open(page, app_server, inquiry_id, serial)
    expect(page.get_by_text("本次查看已记入访问记录")).to_be_visible()
    assert frames.holding([mobile]) == {mobile}  # unassigned: in full, for staff
    # the list beside it stays masked: only this one inquiry's number reaches the browser
    others = _contacts(engine) - {mobile}
    with engine.connect() as c:
        own_email = c.execute(sa.text("SELECT email FROM inquiry WHERE id = :i"), {"i": inquiry_id})
        others.discard(own_email.scalar_one())
    assert frames.holding(others) == set()
    # other clicks draw the page again: still one view
    page.get_by_role("textbox", name="备注内容").fill("已电话联系")
    page.get_by_role("button", name="添加备注").click()
    expect(page.get_by_text("备注已添加")).to_be_visible()
    page.screenshot(path=shots / "staff_detail.png", full_page=True)
    assert _views(engine, "staff", inquiry_id) == before + 1


def test_the_company_form_has_the_notice_and_deletes_a_draft(page, app_server, shots):
    from playwright.sync_api import expect

    login(page, app_server, "company")
    expect(page.get_by_text("个人信息处理说明")).to_be_visible()
    expect(page.get_by_text(re.compile("029-95198"))).to_have_count(2)  # panel and notice
    page.get_by_label("*联系人").fill("删除测试")
    _choose(page, "省/市", "北京市")
    _choose(page, "区", "东城区")
    page.get_by_label("*详细地址").fill("东长安街1号")
    page.get_by_label("*联系手机").fill("13700001111")
    page.get_by_label("*联系固话").fill("010-12345678")
    page.get_by_label("*联系邮箱").fill("delete-me@example.com")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text(re.compile(r"已保存为暂存，询保流水号 \d{18}")).first).to_be_visible()
    page.screenshot(path=shots / "company_draft.png", full_page=True)
    page.get_by_role("button", name="删除").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("删除后无法恢复")).to_be_visible()
    page.screenshot(path=shots / "company_delete_dialog.png")
    dialog.get_by_role("button", name="确认删除").click()
    expect(page.get_by_text(re.compile(r"已删除暂存的询保申请 \d{18}")).first).to_be_visible()
    with _db(app_server).connect() as c:
        assert (
            c.execute(
                sa.text("SELECT COUNT(*) FROM inquiry WHERE email = 'delete-me@example.com'")
            ).scalar_one()
            == 0
        )


def test_the_administrator_reads_the_access_log(page, app_server, shots):
    from playwright.sync_api import expect

    login(page, app_server, "admin")
    page.get_by_role("tab", name="个人信息删除").click()
    expect(page.get_by_text(re.compile(r"^待匿名化的询保申请 \d+ 条"))).to_be_visible()
    expect(page.get_by_role("button", name="匿名化该企业的个人信息")).to_be_visible()
    page.screenshot(path=shots / "users_personal_data.png", full_page=True)
    page.get_by_role("tab", name="修改账号").click()
    page.get_by_label("选择账号").click()
    page.keyboard.type("staff")
    page.get_by_role("option", name="staff（业务人员）", exact=True).click()
    expect(page.get_by_text(re.compile(r"^导出含联系方式：")).first).to_be_visible()
    page.screenshot(path=shots / "users_grant.png", full_page=True)
    page.get_by_role("link", name="访问记录").click()
    expect(page.get_by_role("heading", name="访问记录")).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile(r"^共 [\d,]+ 条$"))).to_be_visible()
    page.wait_for_timeout(1000)
    page.screenshot(path=shots / "access_log.png", full_page=True)
