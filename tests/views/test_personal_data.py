"""Personal data on the pages (AppTest): 删除 on a company's draft after a confirmation, the
个人信息处理说明 under the form (no click needed to save), the company's own data in full; the
administrator's grant 导出含联系方式 and the export it allows; anonymising one company on its
request."""

from __future__ import annotations

import csv
import io

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from dashboard import db, inquiries
from dashboard.settings import ROOT, get_settings
from dashboard.views.entry_state import STATE_KEY
from models import DataAccessLog, Inquiry, InquiryEvent, User
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import logged_in_as, login

MOBILE, EMAIL = "13812345678", "zhangsan@example.com"


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.main.button]


def _open_draft(app, users, engine) -> tuple[AppTest, Inquiry]:
    with db.session_scope(engine) as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=valid_form())
    login(app, "company", PASSWORD)
    key = app.session_state[STATE_KEY].list_key
    app.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    assert not app.exception
    return app, draft


def test_a_company_deletes_its_draft_after_confirming(app, users, engine):
    at, draft = _open_draft(app, users, engine)
    assert "删除" in _labels(at)
    _click(at, "删除")
    assert "确认删除" in [b.label for b in at.button]
    _click(at, "取消")  # nothing happens without the confirmation
    with db.session_scope(engine, write=False) as s:
        assert s.get(Inquiry, draft.id) is not None

    _click(at, "删除")
    _click(at, "确认删除")
    with db.session_scope(engine, write=False) as s:
        assert s.get(Inquiry, draft.id) is None
        assert not s.exec(select(InquiryEvent).where(InquiryEvent.inquiry_id == draft.id)).all()
    assert f"已删除暂存的询保申请 {draft.serial}" in at.success[0].value
    assert at.session_state[STATE_KEY].inquiry_id is None  # a blank form
    assert "删除" not in _labels(at)
    assert "您还没有询保申请" in at.info[0].value


def test_a_submitted_inquiry_or_a_new_form_has_no_delete(app, users, engine):
    with db.session_scope(engine) as s:
        inquiries.submit(s, actor=users["company"], form=valid_form())
    login(app, "company", PASSWORD)
    assert "删除" not in _labels(app)  # a blank form
    key = app.session_state[STATE_KEY].list_key
    app.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    assert "删除" not in _labels(app)
    # the company sees its own contact data in full, in the list and the form
    table = app.dataframe[0].value
    assert list(table["联系电话"]) == [MOBILE] and list(table["联系邮箱"]) == [EMAIL]


def test_the_privacy_notice_is_under_the_form_and_saving_needs_no_extra_click(
    app, users, engine, monkeypatch
):
    monkeypatch.setenv("DASHBOARD_RETENTION_DAYS", "365")
    get_settings.cache_clear()
    login(app, "company", PASSWORD)
    markdown = [m.value for m in app.markdown]
    assert "**个人信息处理说明**" in markdown
    notice = next(c.value for c in app.caption if "我们收集" in c.value)
    for words in ("联系手机", "处理您的询保申请", "365 天", "029-95198", "删除"):
        assert words in notice
    assert not app.checkbox  # nothing to tick before saving
    at, _ = _open_draft(AppTest.from_file(str(ROOT / "dashboard" / "app.py")), users, engine)
    assert "保存" in _labels(at)


# --------------------------------------------------------------------------------------------
# 用户管理: the grant and anonymisation on request

USERS = str(ROOT / "dashboard" / "views" / "users.py")


def _users_page(admin) -> AppTest:
    at = AppTest.from_file(USERS, default_timeout=30)
    at.session_state["auth"] = logged_in_as(admin)
    at.run()
    assert not at.exception
    return at


def _granted(engine, user) -> bool:
    with db.session_scope(engine, write=False) as s:
        return s.get(User, user.id).may_export_contacts


def test_the_admin_grants_export_with_contacts_per_account(engine, users):
    at = _users_page(users["admin"])
    at.selectbox(key="edit_user").set_value(users["staff"].id).run()
    assert any("导出含联系方式：未开通" in c.value for c in at.caption)
    _click(at, "开通导出含联系方式")
    assert _granted(engine, users["staff"]) and not _granted(engine, users["staff2"])
    at.selectbox(key="edit_user").set_value(users["staff"].id).run()
    _click(at, "取消导出含联系方式")
    assert not _granted(engine, users["staff"])
    # a company account has no such button
    at.selectbox(key="edit_user").set_value(users["company"].id).run()
    assert "开通导出含联系方式" not in [b.label for b in at.button]


def test_a_granted_staff_member_exports_contacts_when_ticked_and_it_is_logged(app, users, engine):
    with db.session_scope(engine) as s:
        inquiries.submit(s, actor=users["company"], form=valid_form())
    login(app, "staff", PASSWORD)
    app.switch_page("views/triage.py").run()
    assert not [c for c in app.checkbox if c.label == "导出含联系方式"]  # not granted
    with db.session_scope(engine) as s:
        s.get(User, users["staff"].id).may_export_contacts = True
    app.run()

    def exported() -> str:
        _click(app, "导出 CSV")
        return app.session_state["triage_state"].export[5].decode("utf-8-sig")

    masked = exported()
    assert "138****5678" in masked and MOBILE not in masked
    next(c for c in app.checkbox if c.label == "导出含联系方式").check().run()
    full = list(csv.reader(io.StringIO(exported())))
    assert full[1][7] == MOBILE and full[1][9] == EMAIL
    with db.session_scope(engine, write=False) as s:
        logged = s.exec(select(DataAccessLog)).all()
    assert [(r.action, r.actor_id, r.row_count) for r in logged] == [
        ("exported", users["staff"].id, 1)
    ]


def test_the_admin_anonymises_one_company_after_confirming(engine, users):
    with db.session_scope(engine) as s:
        ours = inquiries.submit(s, actor=users["company"], form=valid_form()).id
        inquiries.save_draft(s, actor=users["company"], form=valid_form())
        theirs = inquiries.submit(s, actor=users["company2"], form=valid_form()).id
    at = _users_page(users["admin"])
    at.selectbox(key="users_anonymise_owner").set_value(users["company"].id).run()
    assert any("待匿名化的询保申请 1 条，暂存申请 1 条" in c.value for c in at.caption)
    _click(at, "匿名化该企业的个人信息")
    assert any("此操作无法撤销" in w.value for w in at.warning)
    _click(at, "确认匿名化")
    with db.session_scope(engine, write=False) as s:
        assert s.get(Inquiry, ours).mobile == "" and s.get(Inquiry, theirs).mobile == MOBILE
        assert len(s.exec(select(Inquiry)).all()) == 2  # the draft is gone
        (row,) = s.exec(select(DataAccessLog)).all()
    assert row.action == "anonymised" and row.actor_id == users["admin"].id
