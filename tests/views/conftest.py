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


def logged_in_as(user):
    """What ``common.login`` leaves in the session state: for running a page script on its own
    (its session is a real ``user_session`` row)."""
    from dashboard import db, sessions
    from dashboard.views import common

    with db.session_scope() as session:
        started = sessions.start(session, user=user)
    return common.Auth(user_id=user.id, session_id=started.session_id, user=user)


def idle_for(at: AppTest, minutes: float) -> None:
    """Make the logged-in session of ``at`` look idle for ``minutes`` (its last activity moved
    back in the database, where the idle timeout is checked)."""
    from datetime import timedelta

    from dashboard import db
    from dashboard.views import common
    from models import UserSession, utcnow

    with db.session_scope() as session:
        row = session.get(UserSession, at.session_state[common.AUTH_KEY].session_id)
        row.last_seen_at = utcnow() - timedelta(minutes=minutes)
        session.add(row)
