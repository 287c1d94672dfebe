"""The pages before the app proper: 登录 (password or single sign-on), 企业注册, and 修改密码 for
an account that still has a one-time password.

Login protection here is per browser session (``common.LoginThrottle``), on top of the
per-account lock and the per-address limit in ``accounts.authenticate``. Every message is the
same whether or not the user exists.
"""

from __future__ import annotations

import streamlit as st

from dashboard import accounts, bootstrap, db, sso
from dashboard.errors import FormInvalid
from dashboard.seed.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from dashboard.settings import get_settings
from dashboard.views import common
from models import ROLE_LABELS, utcnow

LOGIN_FAILED = "用户名或密码错误，或账号已被锁定，请稍后再试"


@st.cache_resource(show_spinner="正在准备数据库…")
def startup() -> bootstrap.Startup:
    return bootstrap.start()


# --------------------------------------------------------------------------------------------
# Login throttling per browser session


def _throttle() -> common.LoginThrottle:
    throttle = st.session_state.get("login_throttle")
    if not isinstance(throttle, common.LoginThrottle):  # absent, or tampered with
        throttle = st.session_state["login_throttle"] = common.LoginThrottle()
    return throttle


# --------------------------------------------------------------------------------------------
# Single sign-on (OIDC through st.login, configured in .streamlit/secrets.toml)


def sso_provider() -> str | None:
    """The ``st.login`` provider name when single sign-on is configured, else None."""
    try:
        auth = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return None
    if not auth:
        return None
    if "server_metadata_url" in auth:
        return "default"
    named = [k for k, v in auth.items() if hasattr(v, "get") and "server_metadata_url" in v]
    return named[0] if named else None


def sso_sign_in() -> bool:
    """Map this session's SSO identity to an account; True when the user is now logged in."""
    email = st.user.get("email")
    verified = st.user.get("email_verified")
    with db.session_scope() as session:
        user = sso.user_for_identity(session, email=email, email_verified=verified)
    if user is None:
        return False
    common.login(user)
    return True


def sso_refused_page() -> None:
    st.title("投保咨询系统")
    st.error("您的统一身份账号没有访问本系统的权限，请联系系统管理员。")
    if st.button("退出统一身份登录"):
        common.logout()


# --------------------------------------------------------------------------------------------
# Pages before login


@st.cache_data(ttl=60, show_spinner=False)
def demo_accounts_listed() -> bool:
    """Whether the login page lists the demo accounts: demo mode applies and one of them still
    has the public password (re-checked every minute, so changing them takes effect)."""
    engine = db.get_engine()
    return bootstrap.demo_allowed(get_settings(), engine) and bootstrap.demo_accounts_active(engine)


def login_page() -> None:
    startup()
    st.title("投保咨询系统")
    notice = st.session_state.pop(common.NOTICE_KEY, None)
    if notice:
        st.info(notice)
    settings = get_settings()
    if settings.allow_registration and st.session_state.get("login_view") == "register":
        register_form()
        return
    throttle = _throttle()
    with st.form("login"):
        username = st.text_input("用户名", max_chars=64)
        password = st.text_input("密码", type="password", max_chars=256)
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        now = utcnow()
        wait = throttle.wait_seconds(now)
        if wait:
            st.error(f"登录失败次数过多，请在 {wait} 秒后再试")
        else:
            source = common.client_address()
            with common.db_errors(), db.session_scope() as session:
                user = accounts.authenticate(
                    session, username=username, password=password, source=source
                )
                source_wait = 0 if user else accounts.source_wait_seconds(session, source, now)
            if user is None:
                throttle.failed(now)
                if source_wait:
                    minutes = (source_wait + 59) // 60
                    st.error(f"来自您所在网络的登录失败次数过多，请在 {minutes} 分钟后再试")
                else:
                    st.error(LOGIN_FAILED)
            else:
                common.login(user)
                st.rerun()
    provider = sso_provider()
    if provider and st.button("使用统一身份登录（业务人员）", icon=":material/key:"):
        st.login(provider)
    if settings.allow_registration and st.button("还没有账号？企业注册"):
        st.session_state["login_view"] = "register"
        st.rerun()
    if demo_accounts_listed():
        st.warning("演示模式：以下演示账号使用公开的密码，请勿在生产环境中使用。")
        st.table(
            {
                "用户名": [u for u, *_ in DEMO_ACCOUNTS],
                "角色": [ROLE_LABELS[r] for _, r, *_ in DEMO_ACCOUNTS],
                "密码": [DEMO_PASSWORD] * len(DEMO_ACCOUNTS),
            }
        )


def _written(fn, /, **kwargs) -> bool:
    """``fn(session, **kwargs)`` in a write session; a refused form's messages, one per field,
    where the form is. True when it was written."""
    try:
        with common.db_errors(), db.session_scope() as session:
            fn(session, **kwargs)
    except FormInvalid as err:
        for message in err.errors.values():
            st.error(message)
        return False
    return True


def register_form() -> None:
    """企业注册: always an enterprise account (the domain function fixes the role)."""
    st.subheader("企业注册")
    with st.form("register"):
        username = st.text_input("用户名", max_chars=64)
        password = st.text_input(
            "密码", type="password", max_chars=256, help=f"至少{accounts.MIN_PASSWORD_LENGTH}个字符"
        )
        password_again = st.text_input("再次输入密码", type="password", max_chars=256)
        company_name = st.text_input("公司名称", max_chars=100)
        email = st.text_input("联系邮箱", max_chars=254)
        submitted = st.form_submit_button("注册", type="primary")
    if submitted and _written(
        accounts.register_company,
        username=username,
        password=password,
        password_again=password_again,
        company_name=company_name,
        email=email,
    ):
        st.session_state.clear()
        st.session_state[common.NOTICE_KEY] = "注册成功，请使用新账号登录"
        st.rerun()
    if st.button("返回登录"):
        st.session_state.pop("login_view", None)
        st.rerun()


def change_password_page() -> None:
    """Shown instead of every page while the account still has a one-time password."""
    user = common.current_user()
    if user is None:
        st.rerun()
    st.title("修改密码")
    st.info("您正在使用管理员设置的一次性密码，请先设置自己的新密码。")
    with st.form("change_password"):
        current = st.text_input("当前密码", type="password", max_chars=256)
        new = st.text_input(
            "新密码",
            type="password",
            max_chars=256,
            help=f"至少{accounts.MIN_PASSWORD_LENGTH}个字符",
        )
        again = st.text_input("再次输入新密码", type="password", max_chars=256)
        submitted = st.form_submit_button("保存新密码", type="primary")
    if submitted:
        if new != again:
            st.error("两次输入的新密码不一致")
            return
        if _written(
            accounts.change_password,
            actor=user,
            current_password=current,
            new_password=new,
            keep_session=common.current_session_id(),
        ):
            st.rerun()
