"""咨询处理 in AppTest: filter → select a row → detail → complete → list and counts update."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import db, inquiries
from dashboard.settings import ROOT
from dashboard.views import common
from models import utcnow
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import login


def _submit(users, n, **overrides):
    out = []
    with db.session_scope() as s:
        for i in range(n):
            form = valid_form(company_name=f"测试公司{i:02d}有限公司", **overrides)
            out.append(inquiries.submit(s, actor=users["company"], form=form))
    return out


def _total(at) -> str:
    return next(m.value for m in at.markdown if str(m.value).startswith("**共"))


def test_staff_filter_select_complete_updates_list_and_counts(app, users):
    _submit(users, 3)
    _submit(users, 2, intent="buyer_credit")
    with db.session_scope() as s:
        inquiries.save_draft(s, actor=users["company"], form=valid_form(company_name="草稿公司"))
    login(app, "staff", PASSWORD)
    assert not app.exception
    assert app.title[0].value == "咨询处理"
    assert _total(app) == "**共 5 条**"
    app.sidebar.multiselect(key="triage_intent").set_value(["buyer_credit"]).run()
    assert _total(app) == "**共 2 条**"
    assert "我要调查买方资信 2" in " ".join(c.value for c in app.caption)
    assert app.query_params["intent"] in ("buyer_credit", ["buyer_credit"])
    frame = app.dataframe[0].value
    assert "草稿公司" not in set(frame["公司名称"])
    assert set(frame["询保内容"]) == {"我要调查买方资信"}
    serial = frame["询保流水号"].iloc[0]
    # open the first row: what a row selection does is set the open inquiry
    with db.session_scope() as s:
        from sqlmodel import select

        from models import Inquiry

        target = s.exec(select(Inquiry).where(Inquiry.serial == serial)).one()
    app.session_state["triage_state"].open_id = target.id
    app.run()
    assert not app.exception
    assert any(f"询保申请 {serial}" == h.value for h in app.subheader)
    app.text_area(key=f"triage_complete_note_{target.id}").input("已电话联系")
    next(b for b in app.button if b.label == "标记为已完成").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == [f"已将 询保申请 {serial} 标记为已完成"]
    assert _total(app) == "**共 1 条**"
    caption = " ".join(c.value for c in app.caption)
    assert "已提交 1" in caption and "我要调查买方资信 1" in caption
    with db.session_scope() as s:
        trail = inquiries.events(s, actor=users["staff"], inquiry_id=target.id)
    assert trail[-1][0].action == "completed" and trail[-1][0].note == "已电话联系"


def test_completing_what_someone_else_completed_shows_a_conflict(app, users):
    (inq,) = _submit(users, 1)
    login(app, "staff", PASSWORD)
    app.session_state["triage_state"].open_id = inq.id
    app.run()
    with db.session_scope() as s:
        inquiries.complete(s, actor=users["staff2"], inquiry_ids=[inq.id])
    next(b for b in app.button if b.label == "标记为已完成").click().run()
    assert not app.exception
    assert len(app.error) == 1 and "已被他人" in app.error[0].value
    assert not any(b.label == "标记为已完成" for b in app.button)  # reloaded: now read-only


def test_staff_never_see_drafts(app, users):
    with db.session_scope() as s:
        inquiries.save_draft(s, actor=users["company"], form=valid_form(company_name="草稿公司"))
    login(app, "staff", PASSWORD)
    app.sidebar.multiselect(key="triage_status").set_value([]).run()
    assert _total(app) == "**共 0 条**"
    app.sidebar.text_input(key="triage_search").input("草稿公司").run()
    assert _total(app) == "**共 0 条**"


def test_an_enterprise_user_cannot_reach_the_page(app, users):
    login(app, "company", PASSWORD)
    assert not app.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("views/triage.py")  # not in the enterprise user's navigation
    # and the page itself refuses, even when its script is run directly
    page = AppTest.from_file(str(ROOT / "dashboard" / "views" / "triage.py"), default_timeout=30)
    page.session_state["auth"] = common.Auth(user_id=users["company"].id, last_seen=utcnow())
    page.run()
    assert [e.value for e in page.error] == ["您没有访问此页面的权限"]
    assert not page.dataframe


def test_a_tampered_url_shows_notices_and_the_default_view(app, users):
    _submit(users, 2)
    app.query_params["status"] = "draft"
    app.query_params["province"] = "999999"
    app.query_params["page"] = "-3"
    login(app, "staff", PASSWORD)
    assert not app.exception
    notices = [w.value for w in app.warning]
    assert "链接中的申请状态参数无效，已忽略无效部分" in notices
    assert "链接中的省/市参数无效，已忽略" in notices
    assert _total(app) == "**共 2 条**"


def test_bulk_completion_asks_for_confirmation_with_the_count(app, users):
    _submit(users, 3)
    login(app, "staff", PASSWORD)
    table_key = "triage_table_0_1"  # generation 0, page 1
    app.session_state[table_key] = {"selection": {"rows": [0, 2], "columns": [], "cells": []}}
    app.run()
    assert not app.exception
    assert "已选择 2 条询保申请" in [i.value for i in app.info]
    next(b for b in app.button if b.label == "批量标记为已完成").click().run()
    assert "确认将这 2 条询保申请标记为已完成？" in [w.value for w in app.warning]
    next(b for b in app.button if b.label == "确认完成 2 条").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["已将 2 条询保申请 标记为已完成"]
    assert _total(app) == "**共 1 条**"


def test_a_search_matching_more_than_the_cap_says_so(app, users, monkeypatch):
    from dashboard import queries

    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 3)
    _submit(users, 5)
    with db.session_scope() as s:
        inquiries.submit(
            s, actor=users["company"], form=valid_form(company_name="别的贸易有限公司")
        )
    login(app, "staff", PASSWORD)
    assert _total(app) == "**共 6 条**"  # no search: counted exactly
    app.sidebar.text_input(key="triage_search").input("测试公司").run()
    assert not app.exception
    assert _total(app) == "**共 3+ 条**"
    assert len(app.dataframe[0].value) == 3  # only the newest 3 can be listed
    caption = " ".join(c.value for c in app.caption)
    assert "匹配超过 3 条" in caption and "申请状态：" not in caption
    assert "第 1 / 1 页" in caption
    app.sidebar.text_input(key="triage_search").input("别的贸易").run()
    assert _total(app) == "**共 1 条**"
    assert "已提交 1" in " ".join(c.value for c in app.caption)
