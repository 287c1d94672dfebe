"""The HTTP routes of ``dashboard/server.py`` (health check, session cookie), in process through
Starlette's test client: the same route functions the served app mounts."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard import db, server, sessions

pytest_plugins = ["tests.faults"]  # the outage fixtures

ORIGIN = "http://testserver"


@pytest.fixture
def client(engine):
    with TestClient(Starlette(routes=server.ROUTES)) as c:
        yield c


def _pickup(user) -> str:
    with db.session_scope() as s:
        return sessions.start(s, user=user).pickup


def _post(client, path, body, *, origin=ORIGIN, content_type="application/json"):
    headers = {"content-type": content_type}
    if origin:
        headers["origin"] = origin
    return client.post(path, content=json.dumps(body), headers=headers)


def test_healthz_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_pickup_sets_an_httponly_lax_cookie_once(client, users):
    pickup = _pickup(users["staff"])
    response = _post(client, "/auth/session", {"pickup": pickup})
    assert response.status_code == 204
    header = response.headers["set-cookie"]
    assert header.startswith(f"{sessions.COOKIE}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header
    token = response.cookies[sessions.COOKIE]
    with db.session_scope(write=False) as s:
        assert sessions.resume(s, token).user.id == users["staff"].id
    client.cookies.clear()
    assert _post(client, "/auth/session", {"pickup": pickup}).status_code == 403


def test_the_cookie_is_secure_when_the_setting_says_so(client, users, monkeypatch):
    from dashboard.settings import get_settings

    monkeypatch.setenv("DASHBOARD_COOKIE_SECURE", "1")
    get_settings.cache_clear()
    response = _post(client, "/auth/session", {"pickup": _pickup(users["staff"])})
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("origin", "content_type"),
    [
        ("http://evil.example", "application/json"),  # another site
        (None, "application/json"),  # no Origin: not a page's script
        ("null", "application/json"),  # a sandboxed or file page
        (ORIGIN, "application/x-www-form-urlencoded"),  # a plain cross-site form post
    ],
)
def test_logins_refuse_cross_site_and_form_posts(client, users, origin, content_type):
    pickup = _pickup(users["staff"])
    response = _post(
        client, "/auth/session", {"pickup": pickup}, origin=origin, content_type=content_type
    )
    assert response.status_code in (400, 403) and "set-cookie" not in response.headers
    # the refused request did not use the code up
    assert _post(client, "/auth/session", {"pickup": pickup}).status_code == 204


def test_logout_ends_the_session_and_clears_the_cookie(client, users):
    _post(client, "/auth/session", {"pickup": _pickup(users["staff"])})
    token = client.cookies[sessions.COOKIE]
    refused = _post(client, "/auth/logout", {}, origin="http://evil.example")
    assert refused.status_code == 403
    with db.session_scope(write=False) as s:
        assert sessions.resume(s, token).user is not None
    response = _post(client, "/auth/logout", {})
    assert response.status_code == 204
    assert f'{sessions.COOKIE}=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    with db.session_scope(write=False) as s:
        assert sessions.resume(s, token).user is None


def test_healthz_says_unavailable_during_a_real_outage(pg_proxy_engine):
    engine, proxy = pg_proxy_engine
    with TestClient(Starlette(routes=server.ROUTES)) as client:
        assert client.get("/healthz").status_code == 200
        proxy.stop()
        engine.dispose()  # no pooled connection that might still answer
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json() == {"status": "unavailable"}
        proxy.start()
        assert client.get("/healthz").status_code == 200


def test_streamlit_does_not_force_a_full_collection_after_every_run(monkeypatch):
    # Each forced collection walked every object of the process (100–200 ms holding the GIL):
    # most of the server's CPU per click (BENCHMARKS.md, fifth session).
    from streamlit import config

    from dashboard.settings import ROOT

    monkeypatch.chdir(ROOT)  # where `streamlit run` finds .streamlit/config.toml
    config.get_config_options(force_reparse=True)
    assert config.get_option("runner.postScriptGC") is False
    assert config.get_option("client.showErrorDetails") == "none"


def test_start_up_objects_are_frozen_out_of_the_collector():
    import gc

    import altair

    try:
        frozen = server.freeze_start_up()
        assert frozen > 50_000 and gc.get_freeze_count() == frozen
        tracked = {id(o) for o in gc.get_objects()}
        # Module dictionaries of what the pages use: alive for the whole process, not walked.
        assert id(vars(altair)) not in tracked
        assert id(vars(server)) not in tracked
        # Objects made afterwards are collected as usual.
        made_after = [[]]
        assert gc.is_tracked(made_after) and id(made_after) in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()
