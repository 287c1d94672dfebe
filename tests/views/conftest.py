"""AppTest helpers: run the real entry point against the test database and log in."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.settings import ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def app(engine):
    """A fresh AppTest of the whole app on the test database (logged out)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    return at


def login(at: AppTest, username: str, password: str) -> AppTest:
    at.run()
    inputs = {t.label: t for t in at.text_input}
    inputs["用户名"].input(username)
    inputs["密码"].input(password)
    next(b for b in at.button if b.label == "登录").click()
    at.run()
    return at
