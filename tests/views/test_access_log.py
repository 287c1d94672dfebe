"""访问记录 page (AppTest): the access log as the administrator reads it, its filters and its CSV
file, administrators only; and the pages that write it: a staff member's full view of an inquiry
is one row however often the page is drawn again, an export with contacts one row with its count,
and a manager's triage page carries no full phone number or e-mail."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from dashboard import access_log, accounts, db, inquiries, retention
from dashboard.settings import ROOT
from models import DataAccessLog
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import logged_in_as, login

PAGE = str(ROOT / "dashboard" / "views" / "access_log.py")
MOBILE, EMAIL = "13812345678", "zhangsan@example.com"


def _page(user) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["auth"] = logged_in_as(user)
    at.run()
    assert not at.exception
    return at


def _views(engine, users, *who) -> int:
    with db.session_scope(engine) as s:
        inquiry_id = inquiries.submit(s, actor=users["company"], form=valid_form()).id
    for name in who:
        with db.session_scope(engine) as s:
            inquiries.detail(s, actor=users[name], inquiry_id=inquiry_id)
    return inquiry_id


def _log(engine) -> list[DataAccessLog]:
    with db.session_scope(engine, write=False) as s:
        return list(s.exec(select(DataAccessLog).order_by(DataAccessLog.id)))


def test_the_admin_reads_and_filters_the_access_log(engine, users):
    _views(engine, users, "staff", "staff2")
    with db.session_scope(engine) as s:
        retention.purge(s, actor=accounts.Operator("ops"), apply=True, days=30)
    at = _page(users["admin"])
    assert at.title[0].value == "访问记录"
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "时间",
        "操作人",
        "操作",
        "询保流水号",
        "条数",
        "筛选条件",
        "说明",
    ]
    assert list(table["操作人"]) == ["console:ops", "staff2", "staff"]
    assert list(table["操作"]) == ["定期清理", "查看联系方式", "查看联系方式"]
    assert "**共 3 条**" in [m.value for m in at.markdown]

    at.multiselect(key="access_log_actions").set_value(["viewed"]).run()
    at.text_input(key="access_log_actor").input("staff2").run()
    assert list(at.dataframe[0].value["操作人"]) == ["staff2"]

    at.text_input(key="access_log_actor").input("nobody").run()
    assert not at.dataframe and "没有符合条件" in at.info[0].value


def test_the_admin_downloads_the_matching_rows_as_csv(engine, users):
    _views(engine, users, "staff")
    at = _page(users["admin"])
    next(b for b in at.button if b.label == "导出 CSV").click().run()
    assert not at.exception
    _, _, data = at.session_state["access_log_file"]
    assert [b.label for b in at.get("download_button")] == ["下载访问记录（1 条）"]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(access_log.LOG_HEADERS)
    assert [r[1:3] for r in rows[1:]] == [["staff", "查看联系方式"]]


@pytest.mark.parametrize("who", ["company", "staff", "manager"])
def test_only_administrators_read_the_access_log(engine, users, who):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["auth"] = logged_in_as(users[who])
    at.run()
    assert any("没有访问此页面的权限" in e.value for e in at.error)
    assert not at.dataframe


# --------------------------------------------------------------------------------------------
# The triage page writes it


def _triage(app, who, inquiry_id) -> AppTest:
    login(app, who, PASSWORD)
    app.switch_page("views/triage.py").run()
    app.session_state["triage_state"].open_id = inquiry_id
    app.run()
    assert not app.exception
    return app


def _page_text(app) -> str:
    """Everything the page sends to the browser that tests can read: data frames, text, labels."""
    parts = [str(frame.value.to_dict()) for frame in app.dataframe if frame.value is not None]
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "text"):
        parts += [str(e.value) for e in getattr(app, kind)]
    return "\n".join(parts)


def test_a_full_view_on_the_triage_page_is_one_log_row_however_often_it_is_drawn(
    app, engine, users
):
    inquiry_id = _views(engine, users)
    _triage(app, "staff", inquiry_id)
    text = _page_text(app)
    assert MOBILE in text and EMAIL in text  # unassigned: the staff member sees it in full
    assert "本次查看已记入访问记录" in text
    for _ in range(3):  # other clicks draw the page again
        app.run()
    note = next(t for t in app.text_area if t.label == "备注内容")
    note.input("已电话联系")
    next(b for b in app.button if b.label == "添加备注").click().run()
    assert not app.exception
    assert [(r.actor_id, r.inquiry_id) for r in _log(engine)] == [(users["staff"].id, inquiry_id)]
    # closed and opened again: a new view
    next(b for b in app.button if b.label == "关闭").click().run()
    app.session_state["triage_state"].open_id = inquiry_id
    app.run()
    assert len(_log(engine)) == 2


def test_a_manager_sees_no_full_phone_number_or_email_on_triage(app, engine, users):
    inquiry_id = _views(engine, users)
    _triage(app, "manager", inquiry_id)
    text = _page_text(app)
    assert "138****5678" in text and "z***@example.com" in text
    assert MOBILE not in text and EMAIL not in text
    assert "认领后即可查看" in text
    assert _log(engine) == []
    # Claimed: now it is theirs, in full, and logged.
    next(b for b in app.button if b.label == "认领").click().run()
    assert MOBILE in _page_text(app)
    assert len(_log(engine)) == 1
