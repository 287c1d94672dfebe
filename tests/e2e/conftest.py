"""Browser tests: the real app started with ``streamlit run`` on a free port and a temporary
database, driven by Playwright in Debian's headless Chromium (/usr/bin/chromium).

``app_server`` is shared by the whole session (demo data, demo accounts); tests that change data
create their own inquiries, so they do not depend on each other. ``start_server`` starts another
one with its own database when a test needs one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.settings import ROOT

CHROMIUM = "/usr/bin/chromium"
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(tmp: Path, *, demo_rows: int = 400, extra_env: dict | None = None) -> Server:
    """``streamlit run dashboard/app.py`` on a free port with a fresh SQLite database in ``tmp``.

    Waits on /_stcore/health, then loads the page once so that start-up (migrations, demo data)
    is done before the first test looks at it.
    """
    port = _free_port()
    database_url = f"sqlite:///{tmp / 'e2e.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        DASHBOARD_DEMO="1",
        DASHBOARD_DEMO_ROWS=str(demo_rows),
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    env.update(extra_env or {})
    log = tmp / "streamlit.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()}")
    return Server(url=url, database_url=database_url, process=process, log=log)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


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
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
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


def copy_screens(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, dirs_exist_ok=True)
