"""咨询处理's buttons during a real PostgreSQL outage (a private server behind a TCP proxy that the
test stops, ``tests/faults.py``): the outage is said once, in Chinese, and the same click works
once the database is back, with its result beside the button."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import accounts, db, inquiries
from dashboard.views import common
from models import InquiryEvent
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import APP, login

pytest_plugins = ["tests.faults"]
pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied(pg_proxy_engine):
    engine, proxy = pg_proxy_engine
    with db.session_scope(engine) as s:
        company = accounts.create_user(
            s, username="company", password=PASSWORD, role="enterprise", company_name="甲公司"
        )
        accounts.create_user(s, username="staff", password=PASSWORD, role="staff")
        inquiry = inquiries.submit(s, actor=company, form=valid_form())
    st.cache_data.clear()
    st.cache_resource.clear()
    return engine, proxy, inquiry


def _complete(at: AppTest) -> None:
    next(t for t in at.text_area if t.label == "处理意见").input("已电话联系")
    next(b for b in at.button if b.label == "标记为已完成").click().run()


def _completions(engine, inquiry_id: int) -> int:
    from sqlmodel import select

    with db.session_scope(engine, write=False) as s:
        events = s.exec(
            select(InquiryEvent.action).where(InquiryEvent.inquiry_id == inquiry_id)
        ).all()
    return events.count("completed")


def test_completing_during_an_outage_says_retry_once_and_works_once_back(proxied):
    engine, proxy, inquiry = proxied
    at = AppTest.from_file(APP, default_timeout=30)
    login(at, "staff", PASSWORD)
    at.session_state["triage_state"].open_id = inquiry.id
    at.run()
    assert not at.exception
    proxy.stop()
    _complete(at)
    assert not at.exception
    assert [e.value for e in at.error] == [common.DB_UNAVAILABLE]
    assert not at.toast and not at.success
    assert at.session_state["triage_state"].result is None  # not said again on the next run

    proxy.start()
    at.run()
    assert not at.exception
    assert not at.error
    _complete(at)
    assert not at.exception
    assert [s.value for s in at.success] == [f"已将 询保申请 {inquiry.serial} 标记为已完成"]
    assert _completions(engine, inquiry.id) == 1
