"""邮件发送记录 page (AppTest): the outbox with its states, counts and last errors, the filter,
重试 on a failed mail, the choice of who gets mail about new inquiries, admins only, and user
text shown as text."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from dashboard import db, inquiries
from dashboard.settings import ROOT
from models import Notification, User
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import logged_in_as, login

PAGE = str(ROOT / "dashboard" / "views" / "outbox.py")


def _outbox_of_three(engine, users) -> dict[str, int]:
    """Three completion mails: one sent, one failed with an error, one pending; name → id."""
    ids = {}
    for name in ("sent", "failed", "pending"):
        with db.session_scope(engine) as s:
            inquiry = inquiries.submit(
                s, actor=users["company"], form=valid_form(email=f"{name}@example.com")
            )
            inquiries.complete(s, actor=users["staff"], inquiry_ids=[inquiry.id], note="好")
    with db.session_scope(engine) as s:
        for row in s.exec(select(Notification)):
            ids[row.recipient.split("@")[0]] = row.id
        s.execute(
            sa.update(Notification)
            .where(Notification.id == ids["sent"])
            .values(state="sent", tries=1, sent_at=sa.func.current_timestamp())
        )
        s.execute(
            sa.update(Notification)
            .where(Notification.id == ids["failed"])
            .values(state="failed", tries=10, last_error="550 5.1.1 **no such user**")
        )
    return ids


def _page(user) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["auth"] = logged_in_as(user)
    at.run()
    assert not at.exception
    return at


def _row(engine, notification_id) -> Notification:
    with db.session_scope(engine, write=False) as s:
        return s.get(Notification, notification_id)


def test_admin_sees_pending_sent_and_failed_mail_with_the_last_error(engine, users):
    _outbox_of_three(engine, users)
    at = _page(users["admin"])
    assert at.title[0].value == "邮件发送记录"
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "创建时间",
        "类型",
        "收件人",
        "主题",
        "询保流水号",
        "状态",
        "尝试次数",
        "发送时间",
        "下次尝试",
        "最后错误",
    ]
    by_recipient = table.set_index("收件人")
    assert by_recipient.loc["sent@example.com", "状态"] == "已发送"
    assert by_recipient.loc["sent@example.com", "发送时间"] != ""
    assert by_recipient.loc["pending@example.com", "状态"] == "待发送"
    assert by_recipient.loc["pending@example.com", "下次尝试"] != ""
    assert by_recipient.loc["failed@example.com", "状态"] == "发送失败"
    # The server's reply as it came, not as markdown.
    assert by_recipient.loc["failed@example.com", "最后错误"] == "550 5.1.1 **no such user**"
    assert set(by_recipient["类型"]) == {"办结通知"}
    assert {m.label: m.value for m in at.metric} == {"待发送": "1", "已发送": "1", "发送失败": "1"}
    # Nothing configured here: the page says that nothing is being sent.
    assert any("DASHBOARD_SMTP_URL" in w.value for w in at.warning)
    assert any("**no such user**" in t.value for t in at.text)


def test_the_filter_shows_one_state_or_the_rows_matching_the_search(engine, users):
    _outbox_of_three(engine, users)
    at = _page(users["admin"])
    at.selectbox(key="outbox_state").set_value("failed").run()
    assert list(at.dataframe[0].value["收件人"]) == ["failed@example.com"]
    at.selectbox(key="outbox_state").set_value(None).run()
    at.text_input(key="outbox_search").input("PENDING@").run()
    assert list(at.dataframe[0].value["收件人"]) == ["pending@example.com"]
    at.text_input(key="outbox_search").input("nobody-like-this").run()
    assert not at.dataframe
    assert any("没有符合条件的邮件" in i.value for i in at.info)


def test_retry_puts_a_failed_mail_back_in_the_queue(engine, users):
    ids = _outbox_of_three(engine, users)
    at = _page(users["admin"])
    retry_buttons = [b for b in at.button if b.label == "重试"]
    assert [b.key for b in retry_buttons] == [f"outbox_retry_{ids['failed']}"]
    retry_buttons[0].click().run()
    assert not at.exception
    row = _row(engine, ids["failed"])
    assert (row.state, row.tries) == ("pending", 0)
    assert [b for b in at.button if b.label == "重试"] == []
    assert any("已重新排队" in t.value for t in at.toast)
    assert _row(engine, ids["sent"]).state == "sent"  # the others untouched


def test_admin_chooses_who_gets_mail_about_new_inquiries(engine, users):
    with db.session_scope(engine) as s:
        s.get(User, users["staff2"].id).email = "staff2@insurer.example.com"
    at = _page(users["admin"])
    chooser = at.multiselect(key="outbox_subscribers")
    assert set(chooser.options) >= {"STAFF2", "STAFF（无邮箱）", "MANAGER（无邮箱）"}
    chooser.select(users["staff2"].id).run()
    at.button(key="outbox_save_subscribers").click().run()
    assert not at.exception
    with db.session_scope(engine, write=False) as s:
        chosen = {u.username for u in s.exec(select(User).where(User.notify_new_inquiries))}
    assert chosen == {"staff2"}
    with db.session_scope(engine) as s:
        inquiries.submit(s, actor=users["company"], form=valid_form())
    with db.session_scope(engine, write=False) as s:
        rows = s.exec(select(Notification).where(Notification.kind == "new_inquiry")).all()
    assert [r.recipient for r in rows] == ["staff2@insurer.example.com"]


def test_the_page_refuses_everyone_but_admins(engine, users):
    for who in ("staff", "manager", "company"):
        at = _page(users[who])
        assert any("没有访问此页面的权限" in e.value for e in at.error)
        assert not at.title and not at.dataframe


def test_admins_find_the_page_in_the_navigation(app, users):
    login(app, "admin", PASSWORD)
    app.switch_page("views/outbox.py").run()
    assert not app.exception
    assert app.title[0].value == "邮件发送记录"
    assert any("发件箱还是空的" in i.value for i in app.info)
