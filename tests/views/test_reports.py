"""统计报表 in AppTest: the manager sees every section; staff cannot reach it; filters and the
drill-down follow the URL and the selectbox; an empty period shows a friendly notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard import db, inquiries
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
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[done.id])


def _open_reports(app):
    login(app, "manager", PASSWORD)
    app.switch_page("views/reports.py").run()
    return app


def test_manager_sees_every_section_with_sentences_and_data(app, users):
    _seed(users)
    _open_reports(app)
    assert not app.exception
    assert app.title[0].value == "统计报表"
    assert [h.value for h in app.header] == ["概览", "按询保内容", "按地区", "趋势", "处理效率"]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["新增咨询"] == "4"
    assert metrics["已完成"] == "1"
    assert metrics["完成率"] == "25%"
    text = " ".join(str(m.value) for m in app.markdown)
    assert "本期新增 **4** 条咨询" in text
    assert "广东省" in text
    assert [e.label for e in app.expander].count("查看数据") >= 6
    assert dict(app.query_params)["granularity"] == "week"


def test_drill_down_from_the_selectbox_and_back(app, users):
    _seed(users)
    _open_reports(app)
    app.selectbox(key="reports_drill_select").set_value("440000").run()
    assert not app.exception
    text = " ".join(str(m.value) for m in app.markdown)
    assert "广东省本期共 **3** 条咨询，来自 2 个城市" in text
    next(b for b in app.button if b.label == "← 返回全部省份").click().run()
    assert "咨询最多的省份是广东省" in " ".join(str(m.value) for m in app.markdown)


def test_an_empty_period_shows_a_friendly_notice(app, users):
    _open_reports(app)
    assert not app.exception
    assert any("没有已提交的咨询" in i.value for i in app.info)


def test_filters_come_from_the_url_and_tampering_is_noticed(app, users):
    _seed(users)
    login(app, "manager", PASSWORD)
    app.query_params["intent"] = "buyer_credit"
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
