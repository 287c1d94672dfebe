"""Unsaved changes of 投保咨询 outlive the page: a reload (a new Streamlit session on the same
login) finds the form as it was; once saved, nothing is left behind."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard import db, sessions
from dashboard.views import common
from dashboard.views.entry_state import RECOVERED, WIDGET_KEYS
from tests.conftest import PASSWORD
from tests.views.conftest import APP, login


def _reload(at: AppTest) -> AppTest:
    """What a reload does: a fresh session of the page that the login's cookie logs in (AppTest
    has no browser, so the new session is handed the same ``Auth``)."""
    auth = at.session_state[common.AUTH_KEY]
    fresh = AppTest.from_file(APP, default_timeout=30)
    fresh.session_state[common.AUTH_KEY] = common.Auth(
        user_id=auth.user_id, session_id=auth.session_id, user=auth.user
    )
    fresh.run()
    assert not fresh.exception
    return fresh


def _value(at: AppTest, name: str):
    return at.text_input(key=WIDGET_KEYS[name]).value


def _kept(at: AppTest) -> str | None:
    with db.session_scope(write=False) as s:
        return sessions.unsaved(s, at.session_state[common.AUTH_KEY].session_id)


def test_typed_changes_survive_a_reload_and_say_so(app, users):
    login(app, "company", PASSWORD)
    app.text_input(key=WIDGET_KEYS["contact_name"]).input("赵六").run()
    app.text_input(key=WIDGET_KEYS["address_detail"]).input("前海路9号").run()
    assert "赵六" in _kept(app)

    again = _reload(app)
    assert _value(again, "contact_name") == "赵六"
    assert _value(again, "address_detail") == "前海路9号"
    assert [t.value for t in again.toast] == [RECOVERED]
    # Still unsaved: the buttons treat it as a change (a second reload finds it again).
    assert _value(_reload(again), "contact_name") == "赵六"


def test_a_saved_form_leaves_nothing_to_recover(app, users):
    login(app, "company", PASSWORD)
    app.text_input(key=WIDGET_KEYS["contact_name"]).input("赵六").run()
    assert _kept(app)
    app.text_input(key=WIDGET_KEYS["contact_name"]).input("").run()  # back as it was
    assert _kept(app) is None
    again = _reload(app)
    assert _value(again, "contact_name") == ""
    assert not again.toast


def test_logout_forgets_the_unsaved_form(app, users):
    login(app, "company", PASSWORD)
    app.text_input(key=WIDGET_KEYS["contact_name"]).input("赵六").run()
    session_id = app.session_state[common.AUTH_KEY].session_id
    next(b for b in app.button if b.label == "退出登录").click().run()
    with db.session_scope(write=False) as s:
        assert sessions.unsaved(s, session_id) is None
