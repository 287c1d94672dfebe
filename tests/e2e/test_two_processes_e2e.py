"""Past one machine: two app processes on one PostgreSQL behind nginx (``deploy/nginx.conf``).

A user logs in through one process; the proxy then sends the reload to the other, which finds
the login in the database. nginx is Debian's; the configuration is the shipped one with the
test's ports put in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.app_server import wait_healthy
from dashboard.settings import ROOT
from tests.conftest import TEST_DATABASE_URL
from tests.e2e.conftest import (
    _free_port,
    login,
    start_server,
    stop_server,
    wait_for_session_cookie,
)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED = ROOT / "deploy" / "nginx.conf"


def _need(condition: bool, message: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def shared_postgres():
    """A database of its own on the test PostgreSQL server, dropped afterwards."""
    _need(bool(TEST_DATABASE_URL), "TEST_DATABASE_URL is not set")
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            sa.make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Nginx:
    """nginx in the foreground with the shipped site configuration, its upstreams replaced."""

    def __init__(self, folder: Path, upstreams: list[str]) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "nginx.conf").write_text(
            f"""
user root;
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
        )
        self.route_to(upstreams)
        self.process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr.log").open("w"),
        )
        try:
            wait_healthy(self.url, 20, lambda: self.process.poll() is None, "nginx", interval_s=0.2)
        except RuntimeError as err:
            raise RuntimeError(f"{err}\n{(folder / 'stderr.log').read_text()}") from None

    def route_to(self, upstreams: list[str], *, down: list[str] = ()) -> None:
        """Write the site with the shipped file's two upstream lines replaced by ours."""
        site = SHIPPED.read_text()
        lines = "\n".join(
            f"    server {u} max_fails=1 fail_timeout=10s{' down' if u in down else ''};"
            for u in upstreams
        )
        shipped = [line for line in site.splitlines() if line.strip().startswith("server 127.")]
        assert len(shipped) == 2, "deploy/nginx.conf names two app processes"
        site = site.replace("\n".join(shipped), lines)
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        (self.folder / "site.conf").write_text(site)

    def reload(self) -> None:
        subprocess.run(
            [NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-s", "reload"],
            check=True,
            capture_output=True,
        )
        time.sleep(1)  # the new workers take over

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def test_a_login_through_one_process_holds_on_the_other(page, shared_postgres, tmp_path, shots):
    from playwright.sync_api import expect

    _need(Path(NGINX).exists(), "nginx is not installed (apt-get install nginx-light)")
    env = {"DASHBOARD_ALLOW_DEMO_ON_POSTGRES": "1"}
    # One after the other, as a rolling start does: the first makes the demo data.
    first = start_server(tmp_path, database_url=shared_postgres, extra_env=env, name="first")
    second = start_server(tmp_path, database_url=shared_postgres, extra_env=env, name="second")
    a, b = (s.url.removeprefix("http://") for s in (first, second))
    proxy = Nginx(tmp_path / "nginx", [a, b])
    try:
        with urllib.request.urlopen(f"{proxy.url}/healthz", timeout=5) as response:
            assert response.status == 200

        proxy.route_to([a, b], down=[b])
        proxy.reload()
        login(page, proxy, "staff")
        wait_for_session_cookie(page)
        expect(page.get_by_role("heading", name="咨询处理")).to_be_visible()

        proxy.route_to([a, b], down=[a])
        proxy.reload()
        page.reload()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=20_000)
        expect(page.get_by_role("heading", name="咨询处理")).to_be_visible()
        page.screenshot(path=shots / "second-process.png")
        log = (tmp_path / "nginx" / "access.log").read_text()
        assert "/_stcore/stream" in log

        # The first process is gone; the second still serves the user, and a new tab too.
        stop_server(first)
        other = page.context.new_page()
        other.goto(f"{proxy.url}/triage")
        expect(other.get_by_role("button", name="退出登录")).to_be_visible(timeout=20_000)
    finally:
        proxy.stop()
        stop_server(second)
        stop_server(first)
