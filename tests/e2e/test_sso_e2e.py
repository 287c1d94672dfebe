"""Single sign-on end to end: the browser goes app → mock OIDC provider (oidc-provider-mock, started
by the test on a free port) → back to the app, which maps the identity's e-mail to an account.
"""

from __future__ import annotations

import pytest

from dashboard import accounts, db, seed
from tests.e2e import conftest as e2e

pytestmark = pytest.mark.e2e

STAFF_EMAIL = "li.staff@insurer.example"


@pytest.fixture
def oidc_provider(monkeypatch):
    oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    people = [
        oidc_provider_mock.User(
            sub="li", claims={"email": STAFF_EMAIL, "email_verified": True, "name": "小李"}
        ),
        oidc_provider_mock.User(
            sub="stranger", claims={"email": "stranger@elsewhere.example", "email_verified": True}
        ),
    ]
    with oidc_provider_mock.run_server_in_thread(user_claims=people) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def sso_server(tmp_path, oidc_provider, monkeypatch):
    """The app with [auth] in secrets.toml pointing at the mock provider (HOME is a temp dir,
    so ~/.streamlit/secrets.toml is ours and the repository is not touched)."""
    e2e._need_chromium()
    port = e2e._free_port()
    monkeypatch.setattr(e2e, "_free_port", lambda: port)
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "test-cookie-secret-0123456789abcdef"\n'
        'client_id = "inquiry-dashboard"\n'
        'client_secret = "not-a-real-secret"\n'
        f'server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    # The database the server will use, prepared first: demo accounts, staff with an e-mail.
    engine = db.create_engine(f"sqlite:///{tmp_path / 'e2e.db'}")
    db.migrate(engine)
    seed.create_demo_accounts(engine)
    with db.session_scope(engine) as s:
        staff = accounts.get_by_username(s, "staff")
        staff.email = STAFF_EMAIL
        s.add(staff)
    engine.dispose()
    server = e2e.start_server(
        tmp_path, extra_env={"HOME": str(home), "AUTHLIB_INSECURE_TRANSPORT": "1"}
    )
    try:
        yield server
    finally:
        e2e.stop_server(server)


def _sso_login(page, server, who):
    from playwright.sync_api import expect

    page.goto(server.url)
    page.get_by_role("button", name="使用统一身份登录（业务人员）").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name=who, exact=True).click()


def test_staff_log_in_through_the_oidc_provider(page, sso_server, shots):
    from playwright.sync_api import expect

    _sso_login(page, sso_server, "li")
    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="咨询处理")).to_be_visible()
    expect(page.get_by_text("业务人员小李（业务人员）")).to_be_visible()
    page.screenshot(path=shots / "sso-staff.png", full_page=True)
    # A single-sign-on login gets the same session as a password login: it survives a reload.
    assert e2e.wait_for_session_cookie(page)["httpOnly"]
    page.reload()
    expect(page.get_by_text("业务人员小李（业务人员）")).to_be_visible(timeout=30_000)
    # 退出登录 ends the SSO session too: the provider's end-session page, then back to the login
    # page of the app, and a fresh visit does not log in again by itself.
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="End Session")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=30_000)
    page.goto(sso_server.url)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)


def test_an_unknown_identity_gets_no_access(page, sso_server, shots):
    from playwright.sync_api import expect

    _sso_login(page, sso_server, "stranger")
    expect(page.get_by_text("没有访问本系统的权限")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)
    page.screenshot(path=shots / "sso-refused.png", full_page=True)
