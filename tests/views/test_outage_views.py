"""The pages during a real PostgreSQL outage: a private server behind a TCP proxy that the test
stops or stalls (``tests/faults.py``), never a mock. The user is told to retry, in Chinese, keeps
what they typed, and the same click works once the database is back."""

from __future__ import annotations

import time

import pytest
import streamlit as st
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from dashboard import accounts, db
from dashboard.views import common
from dashboard.views.entry_state import WIDGET_KEYS
from models import Inquiry
from tests.conftest import PASSWORD
from tests.views.conftest import APP, login
from tests.views.test_entry import TYPED, _fill_valid

pytest_plugins = ["tests.faults"]
pytestmark = pytest.mark.postgres


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


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30)


def _save(at: AppTest) -> float:
    started = time.monotonic()
    next(b for b in at.button if b.label == "保存").click().run()
    return time.monotonic() - started


def _stored(engine) -> list[Inquiry]:
    with db.session_scope(engine, write=False) as s:
        return list(s.exec(select(Inquiry)).all())


def _typed_is_kept(at: AppTest) -> None:
    for field, value in TYPED.items():
        assert at.text_input(key=WIDGET_KEYS[field]).value == value
    assert at.selectbox(key=WIDGET_KEYS["district_code"]).value == "440305"


@pytest.mark.parametrize("fault", ["stop", "stall"])
def test_saving_during_an_outage_says_retry_keeps_the_form_and_saves_once_back(proxied, fault):
    engine, proxy = proxied
    at = _app()
    login(at, "company", PASSWORD)
    _fill_valid(at)
    getattr(proxy, fault)()
    took = _save(at)
    assert not at.exception
    assert [e.value for e in at.error] == [common.DB_UNAVAILABLE]
    assert took < 15  # bounded by the connect timeout and the client deadline, never a hang
    _typed_is_kept(at)
    # The page itself still works while the database is away: another run keeps the form.
    at.run()
    assert not at.exception
    _typed_is_kept(at)

    proxy.start() if fault == "stop" else proxy.resume()
    _save(at)
    assert not at.exception
    assert not at.error
    assert any("已保存为暂存" in s.value for s in at.success)
    assert [row.contact_name for row in _stored(engine)] == [TYPED["contact_name"]]


def test_the_app_started_while_the_database_is_down_says_so_and_recovers(proxied):
    _, proxy = proxied
    proxy.stop()
    at = _app()
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [common.DB_UNAVAILABLE]
    proxy.start()
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_logging_in_during_an_outage_says_retry(proxied):
    _, proxy = proxied
    at = _app()
    at.run()
    proxy.stop()
    login(at, "company", PASSWORD)
    assert not at.exception
    assert common.DB_UNAVAILABLE in [e.value for e in at.error]
    proxy.start()
    login(at, "company", PASSWORD)
    assert not at.exception
    assert at.title[0].value == "询保申请"
