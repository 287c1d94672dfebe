"""The real app as the README starts it: ``streamlit run dashboard/server.py``, headless, on a port
of 127.0.0.1, and waited for on /healthz (which answers once start-up — migrations, demo data — is
done); and the headless Chromium that drives it.

Shared by the browser benchmark (``bench.browser``) and the browser tests (``tests/e2e``); each
brings the environment (database, demo data) its app runs with.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from dashboard.settings import ROOT

CHROMIUM = "/usr/bin/chromium"  # Debian's
#: Its flags in a container: no sandbox, no GPU, no traffic but the app's.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(
    url: str,
    timeout_s: float,
    alive: Callable[[], bool] = lambda: True,
    what: str = "app",
    interval_s: float = 0.3,
) -> None:
    """Until ``{url}/healthz`` answers 200; RuntimeError when ``alive()`` turns false first, or
    after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited before it answered {url}/healthz")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(interval_s)
    raise RuntimeError(f"{what} did not answer {url}/healthz within {timeout_s:.0f} s")


def stop_process(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Terminate, and kill what has not ended within ``timeout_s``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_streamlit(
    port: int,
    env: dict[str, str],
    log: Path,
    *,
    timeout_s: float,
    log_tail: int | None = None,
    run_times: Path | None = None,
) -> tuple[str, subprocess.Popen]:
    """Start the app on ``port`` with ``env`` (the whole environment), its output into ``log``,
    and wait until it is healthy; returns its URL and process.

    When it exits or does not answer within ``timeout_s``, it is stopped and the RuntimeError
    carries the log (its last ``log_tail`` characters, if given). With ``run_times`` the wall
    time of each script run is appended there (``bench.timed_streamlit``).
    """
    streamlit = ["-m", "streamlit"]
    if run_times is not None:
        streamlit = ["-m", "bench.timed_streamlit", str(run_times)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                *streamlit,
                "run",
                str(ROOT / "dashboard" / "server.py"),
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
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout_s, lambda: process.poll() is None, "streamlit")
    except RuntimeError as err:
        stop_process(process)
        text = log.read_text()
        raise RuntimeError(f"{err}\n{text[-log_tail:] if log_tail else text}") from None
    return url, process
