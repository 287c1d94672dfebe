"""投保咨询 during a real PostgreSQL outage (``tests/faults.py``): the outage message is on the page
once, and the save that it stopped says so where the user is looking (a toast that stays)."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import accounts, db
from dashboard.views import common
from tests.conftest import PASSWORD
from tests.views.conftest import APP, login
from tests.views.test_entry import _fill_valid

pytest_plugins = ["tests.faults"]
pytestmark = pytest.mark.postgres

ACTION_OUTAGE = "操作未成功：数据库暂时不可用，请稍后重试。您填写的内容仍然保留。"


@pytest.fixture
def proxied(pg_proxy_engine):
    engine, proxy = pg_proxy_engine
    with db.session_scope(engine) as s:
        accounts.create_user(
            s, username="company", password=PASSWORD, role="enterprise", company_name="甲公司"
        )
    st.cache_data.clear()
    st.cache_resource.clear()
    return engine, proxy


def test_a_save_stopped_by_an_outage_says_so_once_on_the_page_and_in_a_toast(proxied):
    _, proxy = proxied
    at = AppTest.from_file(APP, default_timeout=30)
    login(at, "company", PASSWORD)
    _fill_valid(at)
    proxy.stop()
    try:
        next(b for b in at.button if b.label == "保存").click().run()
        assert not at.exception
        assert [e.value for e in at.error] == [common.DB_UNAVAILABLE]
        assert [(t.value, t.proto.duration) for t in at.toast] == [(ACTION_OUTAGE, 0)]
    finally:
        proxy.start()
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.error
    assert [t.value for t in at.toast][0].startswith("已保存为暂存")
