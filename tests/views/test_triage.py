"""咨询处理 in AppTest: filter → select a row → detail → complete → list and counts update."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import db, inquiries
from dashboard.settings import ROOT
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import logged_in_as, login


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
        inquiries.complete(s, actor=users["staff2"], inquiry_ids=[inq.id], note="已处理")
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
    page.session_state["auth"] = logged_in_as(users["company"])
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


@pytest.mark.parametrize(
    ("params", "want"),
    [
        ({"to": "2026-11-30"}, {"to": "2026-11-30"}),  # 统计报表's 全部: no first day
        ({"from": "2026-11-01"}, {"from": "2026-11-01"}),
        ({"from": "2026-11-01", "to": "2026-11-30"}, {"from": "2026-11-01", "to": "2026-11-30"}),
    ],
    ids=["to-only", "from-only", "both"],
)
def test_a_link_with_one_open_end_keeps_it_open(app, users, params, want):
    """A link with only ``to`` (a 统计报表 mark of 全部) lists everything up to that day, not
    that day alone, and the URL keeps saying so."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from models import Inquiry

    old, new = _submit(users, 2)
    with db.session_scope() as s:
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == old.id)
            .values(submitted_at=datetime(2026, 10, 2, 4, tzinfo=UTC))
        )
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == new.id)
            .values(submitted_at=datetime(2026, 11, 15, 4, tzinfo=UTC))
        )
    for key, value in params.items():
        app.query_params[key] = value
    login(app, "staff", PASSWORD)
    assert not app.exception
    expected = {"to-only": 2, "from-only": 1, "both": 1}[
        "to-only" if "from" not in params else "from-only" if "to" not in params else "both"
    ]
    assert _total(app) == f"**共 {expected} 条**"
    dates = {k: app.query_params[k] for k in ("from", "to") if k in app.query_params}
    assert {k: v[0] if isinstance(v, list) else v for k, v in dates.items()} == want


def test_bulk_completion_asks_for_confirmation_with_the_count(app, users):
    _submit(users, 3)
    login(app, "staff", PASSWORD)
    table_key = "triage_table_0"  # generation 0
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


# --------------------------------------------------------------------------------------------
# 我的待办 and the 处理意见


def _routed_to_staff(users, n):
    """``n`` inquiries from 陕西省 that a rule gives to ``staff`` (the only member)."""
    from dashboard import routing

    with db.session_scope() as s:
        team = routing.create_team(s, actor=users["admin"], name="西北团队")
        routing.add_member(s, actor=users["admin"], team_id=team.id, user_id=users["staff"].id)
        routing.add_rule(s, actor=users["admin"], province_code="610000", team_id=team.id)
    form = valid_form(province_code="610000", city_code="610100", district_code="610113")
    with db.session_scope() as s:
        return [inquiries.submit(s, actor=users["company"], form=form) for _ in range(n)]


def _my_queue(app):
    return app.sidebar.button(key="triage_my_queue")


def test_my_queue_counts_what_is_mine_and_open_and_shows_it(app, users):
    routed = _routed_to_staff(users, 3)
    _submit(users, 2)  # the shared queue
    login(app, "staff", PASSWORD)
    assert _total(app) == "**共 5 条**"
    assert _my_queue(app).label == "我的待办（3）"
    _my_queue(app).click().run()
    assert not app.exception
    assert _total(app) == "**共 3 条**"
    assert app.query_params["assignee"] in ("me", ["me"])
    assert set(app.dataframe[0].value["负责人"]) == {"STAFF"}
    assert _my_queue(app).proto.type == "primary"  # the list is the preset
    # the routing rule's assignment is in the trail, by the system
    app.session_state["triage_state"].open_id = routed[0].id
    app.run()
    captions = [c.value for c in app.caption]
    assert any(c.endswith("系统　分配") for c in captions)
    assert any(m.value.startswith("自动分配") for m in app.markdown)
    app.text_area(key=f"triage_complete_note_{routed[0].id}").input("已为贵司报价")
    next(b for b in app.button if b.label == "标记为已完成").click().run()
    assert not app.exception
    assert _my_queue(app).label == "我的待办（2）"
    assert _total(app) == "**共 2 条**"
    # someone else sees their own (empty) queue
    other = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=30)
    login(other, "staff2", PASSWORD)
    assert _my_queue(other).label == "我的待办（0）"


def test_completing_one_without_a_reply_is_refused_under_the_button(app, users):
    (inq,) = _submit(users, 1)
    login(app, "staff", PASSWORD)
    app.session_state["triage_state"].open_id = inq.id
    app.run()
    assert app.text_area(key=f"triage_complete_note_{inq.id}").label == "处理意见"
    next(b for b in app.button if b.label == "标记为已完成").click().run()
    assert not app.exception
    (error,) = app.error
    assert "请填写处理意见" in error.value
    assert any(b.label == "标记为已完成" for b in app.button)  # still open, nothing written
    with db.session_scope() as s:
        assert [
            e.action for e, _ in inquiries.events(s, actor=users["staff"], inquiry_id=inq.id)
        ] == [
            "created",
            "submitted",
        ]


def test_a_bulk_completion_shares_one_reply(app, users):
    made = _submit(users, 3)
    login(app, "staff", PASSWORD)
    app.session_state["triage_table_0"] = {"selection": {"rows": [0, 2], "columns": []}}
    app.run()
    (shared,) = [t for t in app.text_area if t.key == "triage_bulk_note"]
    assert shared.label == "处理意见（所选申请共用，可不填）"
    shared.input("资料已收到")
    next(b for b in app.button if b.label == "批量标记为已完成").click().run()
    next(b for b in app.button if b.label == "确认完成 2 条").click().run()
    assert not app.exception
    with db.session_scope() as s:
        notes = {
            i.id: inquiries.events(s, actor=users["staff"], inquiry_id=i.id)[-1][0].note
            for i in made
        }
    assert sorted(notes.values()) == ["", "资料已收到", "资料已收到"]
