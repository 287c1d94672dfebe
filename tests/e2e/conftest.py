"""Browser tests: the real app started with ``streamlit run`` on a free port and a temporary
database, driven by Playwright in Debian's headless Chromium (/usr/bin/chromium).

``app_server`` is shared by the whole session (demo data, demo accounts); tests that change data
create their own inquiries, so they do not depend on each other. ``start_server`` starts another
one with its own database when a test needs one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.app_server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop_process
from bench.app_server import free_port as _free_port  # the name test_sso_e2e.py patches

DEMO_PASSWORD = "demo-pass-2026"


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (apt-get install chromium fonts-wqy-zenhei)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Server:
    url: str
    database_url: str
    process: subprocess.Popen
    log: Path


def start_server(
    tmp: Path,
    *,
    demo_rows: int = 400,
    extra_env: dict | None = None,
    database_url: str | None = None,
    name: str = "streamlit",
) -> Server:
    """The README's start command (``streamlit run dashboard/server.py``, ``bench.app_server``)
    on a free port, with a fresh SQLite database in ``tmp`` unless ``database_url`` names another.

    Waits on /healthz, which answers once start-up (migrations, demo data) is done.
    """
    database_url = database_url or f"sqlite:///{tmp / 'e2e.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        DASHBOARD_DEMO="1",
        DASHBOARD_DEMO_ROWS=str(demo_rows),
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    env.update(extra_env or {})
    log = tmp / f"{name}.log"
    url, process = start_streamlit(_free_port(), env, log, timeout_s=60)
    return Server(url=url, database_url=database_url, process=process, log=log)


def stop_server(server: Server) -> None:
    stop_process(server.process)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[Server]:
    _need_chromium()
    server = start_server(tmp_path_factory.mktemp("e2e"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _need_chromium()
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": list(CHROMIUM_ARGS),
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1400, "height": 1000},
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "accept_downloads": True,
    }


@pytest.fixture
def shots(tmp_path_factory, request) -> Path:
    """Where a test saves its screenshots (under pytest's temporary directory)."""
    folder = tmp_path_factory.getbasetemp() / "screenshots" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def login(page, server: Server, username: str, password: str = DEMO_PASSWORD) -> None:
    """Open the app and log in through the form."""
    from playwright.sync_api import expect

    page.goto(server.url)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=20_000)


def session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "inq_session"), None)


def wait_for_session_cookie(page, timeout_s: float = 20) -> dict:
    """The login's session cookie, once the page has fetched it (``dashboard.sessions``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cookie = session_cookie(page.context)
        if cookie:
            return cookie
        page.wait_for_timeout(200)
    raise AssertionError("the page never fetched its session cookie")


def copy_screens(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, dirs_exist_ok=True)
