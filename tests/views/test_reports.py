"""统计报表 in AppTest: the manager sees every section (人员工作量 too) on the last 30 days;
staff cannot reach it; filters and the drill-down follow the URL and the selectbox; an empty
period shows a friendly notice; the links and the workload table open 咨询处理 on exactly those
inquiries, however that page was left."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard import clock, db, inquiries
from models import Inquiry, utcnow
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import login


def _seed(users):
    now = utcnow()
    with db.session_scope() as s:
        for i, (intent, prov, city) in enumerate(
            [
                ("insure", "440000", "440300"),
                ("insure", "440000", "440100"),
                ("buyer_credit", "320000", "320100"),
            ]
        ):
            inq = inquiries.submit(s, actor=users["company"], form=valid_form(intent=intent))
            s.flush()
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == inq.id)
                .values(province_code=prov, city_code=city, submitted_at=now - timedelta(hours=i))
            )
        done = inquiries.submit(s, actor=users["company"], form=valid_form())
        s.flush()
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[done.id], note="已电话回复")


def _open_reports(app):
    login(app, "manager", PASSWORD)
    app.switch_page("views/reports.py").run()
    return app


def test_manager_sees_every_section_with_sentences_and_data(app, users):
    _seed(users)
    _open_reports(app)
    assert not app.exception
    assert app.title[0].value == "统计报表"
    assert [h.value for h in app.header] == [
        "概览",
        "按询保内容",
        "按地区",
        "趋势",
        "处理效率",
        "人员工作量",
    ]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["新增咨询"] == "4"
    assert metrics["已完成"] == "1"
    assert metrics["完成率"] == "25%"
    text = " ".join(str(m.value) for m in app.markdown)
    assert "本期新增 **4** 条咨询" in text
    assert "广东省" in text
    assert "按日统计共 30 个日" in text  # every day of the period, not only those with inquiries
    assert "仍有 **3** 条待处理，其中 3 条未分配" in text
    assert [e.label for e in app.expander].count("查看数据") >= 7
    assert any(b.label == "下载报告" for b in app.get("download_button"))
    # The default period: the last 30 days by day, whatever the day of the month.
    today = clock.today()
    assert dict(app.query_params) == {
        "start": (today - timedelta(days=29)).isoformat(),
        "end": today.isoformat(),
        "granularity": "day",
    }


def test_drill_down_from_the_selectbox_and_back(app, users):
    _seed(users)
    _open_reports(app)
    app.selectbox(key="reports_drill_select").set_value("440000").run()
    assert not app.exception
    text = " ".join(str(m.value) for m in app.markdown)
    assert "广东省本期共 **3** 条咨询，来自 2 个城市，最多的是深圳市" in text
    next(b for b in app.button if b.label == "← 返回全部省份").click().run()
    assert "咨询最多的省份是广东省" in " ".join(str(m.value) for m in app.markdown)


def test_an_empty_period_shows_a_friendly_notice(app, users):
    _open_reports(app)
    assert not app.exception
    assert any("没有已提交的咨询" in i.value for i in app.info)


def test_filters_come_from_the_url_and_tampering_is_noticed(app, users):
    _seed(users)
    login(app, "manager", PASSWORD)
    app.query_params["intents"] = "buyer_credit"
    app.query_params["granularity"] = "hour"
    app.switch_page("views/reports.py").run()
    assert not app.exception
    assert {m.label: m.value for m in app.metric}["新增咨询"] == "1"
    assert any("时间粒度无效" in w.value for w in app.warning)


def test_staff_cannot_reach_the_report_page(app, users):
    login(app, "staff", PASSWORD)
    assert not app.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("views/reports.py")
    assert "统计报表" not in [t.value for t in app.title]


def _triage_total(app) -> str:
    assert [t.value for t in app.title] == ["咨询处理"], app.exception
    return next(m.value for m in app.markdown if m.value.startswith("**共 "))


@pytest.mark.parametrize(
    ("label", "total", "params"),
    [
        ("查看本期全部咨询", "**共 4 条**", {"status": "submitted,completed"}),
        ("查看待处理咨询", "**共 3 条**", {}),  # 已提交 is the triage page's default
        ("查看已完成咨询", "**共 1 条**", {"status": "completed"}),
    ],
)
def test_the_overview_opens_triage_on_exactly_those_inquiries(app, users, label, total, params):
    _seed(users)
    _open_reports(app)
    # A filter left on 咨询处理 earlier in the session does not stay in the way.
    app.switch_page("views/triage.py").run()
    app.multiselect(key="triage_intent").set_value(["other"]).run()
    assert _triage_total(app) == "**共 0 条**"
    app.query_params.clear()  # the sidebar's link to 统计报表 carries no parameters
    app.switch_page("views/reports.py").run()
    next(b for b in app.button if b.label == label).click().run()
    assert not app.exception
    assert _triage_total(app) == total
    today = clock.today()
    window = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    assert dict(app.query_params) == window | params


def test_a_number_of_the_workload_table_opens_that_persons_inquiries(app, users):
    _seed(users)
    with db.session_scope() as s:
        first = (
            s.exec(sa.select(Inquiry).where(Inquiry.status == "submitted").order_by(Inquiry.id))
            .scalars()
            .first()
        )
        s.execute(
            sa.update(Inquiry).where(Inquiry.id == first.id).values(assignee_id=users["staff"].id)
        )
    _open_reports(app)
    assert "STAFF" in " ".join(m.value for m in app.markdown)  # 待处理最多的是 STAFF
    # The table's first row is the person with most open inquiries: 未分配 (2), then STAFF (1).
    app.session_state["reports_workload_table"] = {
        "selection": {"rows": [], "columns": [], "cells": [[1, "待处理"]]}
    }
    app.run()
    assert not app.exception
    assert _triage_total(app) == "**共 1 条**"
    assert dict(app.query_params)["assignee"] == str(users["staff"].id)


@pytest.mark.parametrize(
    ("period", "granularity"),
    [("近12个月", "month"), ("上月", "day"), ("今年", None), ("全部", "month")],
)
def test_a_new_period_gets_a_granularity_that_draws_it_readably(app, users, period, granularity):
    from dashboard import reports

    # 今年 is days in January, weeks in spring, months from July on.
    granularity = granularity or reports.default_granularity(*clock.period(period, clock.today()))
    _seed(users)
    _open_reports(app)
    app.selectbox(key="reports_period").set_value(period).run()
    assert not app.exception
    assert dict(app.query_params)["granularity"] == granularity
    app.radio(key="reports_granularity").set_value("week").run()  # and the choice stays the user's
    assert dict(app.query_params)["granularity"] == "week"


def test_a_custom_range_follows_each_range_the_manager_picks(app, users):
    """自定义 then two ranges in turn: the page (and its link) shows each. Nothing about the
    range may be cached between picks, nor a quick period between days."""
    _seed(users)
    _open_reports(app)
    today = clock.today()
    app.selectbox(key="reports_period").set_value("自定义").run()
    for first, last in (
        (today - timedelta(days=20), today - timedelta(days=10)),
        (today - timedelta(days=6), today),
    ):
        app.date_input(key="reports_range").set_value((first, last)).run()
        assert not app.exception
        params = dict(app.query_params)
        assert (params["start"], params["end"]) == (first.isoformat(), last.isoformat())
        assert f"{first.isoformat()} 至 {last.isoformat()}" in " ".join(
            c.value for c in app.caption
        )


def test_a_clicked_mark_goes_to_triage_before_the_report_is_drawn_again(app, users):
    """A chart's click callback (``_chart_clicked``, driven in Chromium by the e2e tests) leaves
    咨询处理's parameters; the next run of the page goes there first thing."""
    _seed(users)
    _open_reports(app)
    # A filter left on 咨询处理 earlier in the session does not stay in the way.
    app.switch_page("views/triage.py").run()
    app.multiselect(key="triage_intent").set_value(["other"]).run()
    app.switch_page("views/reports.py").run()
    app.session_state["reports_drill_to"] = {"province": "440000", "intent": "insure"}
    app.switch_page("views/reports.py").run()
    assert _triage_total(app) == "**共 2 条**"
    assert dict(app.query_params) == {"province": "440000", "intent": "insure"}
    assert "reports_drill_to" not in app.session_state
