"""Real database outages for tests: a private PostgreSQL server and a TCP proxy that fail on demand.

Nothing here mocks a driver: the errors the app sees come from psycopg talking to a server that is
really gone, refusing, or silent.

- ``PrivatePostgres``: a PostgreSQL cluster of our own (``initdb`` into a temporary directory,
  listening on a free port of 127.0.0.1), which a test may ``stop``/``start`` or freeze with
  SIGSTOP (``pause``/``resume``). Never the shared server.
- ``TcpProxy``: an in-process proxy in front of any loopback host:port. ``stop()`` refuses
  connections (and drops the open ones), ``stall()`` accepts and keeps connections but forwards
  nothing, like a hung server or a black-holing network; ``start()``/``resume()`` undo them.

Fixtures (import them into a test module: ``from tests.faults import pg_proxy_engine  # noqa``):

- ``private_postgres`` (session): the running ``PrivatePostgres``.
- ``private_database_url`` (session): a database on it, migrated once.
- ``pg_proxy_engine`` (function): ``(engine, proxy)``: an engine through a fresh ``TcpProxy`` to
  the private database, emptied, with short timeouts (``CONNECT_TIMEOUT_S``,
  ``STATEMENT_TIMEOUT_S``), installed as the process engine (``db.set_engine``) and as
  ``DATABASE_URL`` in the settings, so that the app itself runs against the proxy.

Without PostgreSQL's server binaries the fixtures skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import pwd
import queue
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from dashboard import db
from dashboard.settings import get_settings

#: Short enough for quick tests; psycopg makes any connect timeout below 2 s into 2 s.
CONNECT_TIMEOUT_S = 2
#: The client deadline is then 2 s (``db.DEADLINE_MARGIN_S``).
STATEMENT_TIMEOUT_S = 1
#: No command in this module waits longer than this.
COMMAND_TIMEOUT_S = 60


def _find_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return found[-1].parent if found else None


def _need(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:``port``; its files live in ``root``.

    initdb refuses to run as root: as root, every command runs as the ``postgres`` user.
    """

    host = "127.0.0.1"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pg-private-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.paused = False

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}{log}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        server_options = (
            f"-p {self.port} -k {self.root} -c listen_addresses={self.host} "
            # fsync off is safe for a test server stopped with -m immediate (the WAL is in the
            # OS cache); synchronous_commit must stay on, or a commit just made is lost.
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
            "-o", server_options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (open sessions end at once); ``start`` starts it again on the port."""
        self.resume()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def _pids(self) -> list[int]:
        """The postmaster and its children (the backends and background workers)."""
        main = int((self.data / "postmaster.pid").read_text().split()[0])
        pids = [main]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")"
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == main:
                    pids.append(int(stat.parent.name))
        return pids

    def pause(self) -> None:
        """Freeze every process of the server (SIGSTOP): the kernel still accepts connections
        and acknowledges data, nothing answers."""
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if not self.paused:
            return
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.paused = False

    def ensure_running(self) -> None:
        self.resume()
        if not self.running:
            self.start()

    def url(self, database: str = "postgres", *, port: int | None = None) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{port or self.port}/{database}"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running:
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class TcpProxy:
    """Forwards connections to ``upstream`` (a loopback host:port) from 127.0.0.1:``port``.

    One thread does all the work (a select loop); the methods hand it commands and return once
    they are done, so after ``stop()`` a connection is refused at once. Use as a context manager
    or call ``close()``.
    """

    host = "127.0.0.1"

    def __init__(self, upstream: tuple[str, int], *, port: int = 0) -> None:
        if not ipaddress.ip_address(socket.gethostbyname(upstream[0])).is_loopback:
            raise ValueError("TcpProxy only forwards to loopback addresses")
        self.upstream = upstream
        self.port = port
        self.stalled = False
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket] = {}  # each end → the other
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._closed = False
        self._listen()
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    # -- the commands -------------------------------------------------------------------------

    def stop(self) -> None:
        """Close the listener and every connection: new connections are refused."""
        self._call(self._do_stop)

    def start(self) -> None:
        """Listen again, on the same port."""
        self._call(self._listen)

    def stall(self) -> None:
        """Accept new connections and keep the open ones, but forward nothing either way."""
        self._call(lambda: setattr(self, "stalled", True))

    def resume(self) -> None:
        self._call(lambda: setattr(self, "stalled", False))

    def close(self) -> None:
        if self._closed:
            return
        self._call(self._do_close)
        self._thread.join(COMMAND_TIMEOUT_S)
        self._wake_r.close()
        self._wake_w.close()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connections(self) -> int:
        return len(self._peers) // 2

    # -- the thread ---------------------------------------------------------------------------

    def _call(self, fn) -> None:
        done = threading.Event()
        errors: list[BaseException] = []
        self._commands.put((fn, done, errors))
        self._wake_w.send(b"x")
        if not done.wait(COMMAND_TIMEOUT_S):
            raise TimeoutError("the proxy thread does not answer")
        if errors:
            raise errors[0]

    def _listen(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _do_stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for sock in list(self._peers):
            self._drop(sock)

    def _do_close(self) -> None:
        self._do_stop()
        self._closed = True

    def _drop(self, sock: socket.socket) -> None:
        other = self._peers.pop(sock, None)
        sock.close()
        if other is not None:
            self._peers.pop(other, None)
            other.close()

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()  # like the server itself: nobody there
            return
        for sock in (client, server):
            sock.settimeout(5)  # a peer that stops reading must not block the loop for ever
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peers[client] = server
        self._peers[server] = client

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
            if data:
                self._peers[sock].sendall(data)
                return
        except OSError:
            pass
        self._drop(sock)

    def _loop(self) -> None:
        while not self._closed:
            readers = [self._wake_r]
            if self._listener is not None:
                readers.append(self._listener)
            if not self.stalled:
                readers.extend(self._peers)
            ready, _, _ = select.select(readers, [], [], 1.0)
            for sock in ready:
                if sock is self._wake_r:
                    self._wake_r.recv(4096)
                    while not self._commands.empty():
                        fn, done, errors = self._commands.get()
                        try:
                            fn()
                        except BaseException as err:  # handed to the caller
                            errors.append(err)
                        done.set()
                elif sock is self._listener:
                    with contextlib.suppress(OSError):
                        self._accept()
                elif sock in self._peers and not self.stalled:
                    self._forward(sock)


class ProxiedDatabase(NamedTuple):
    engine: sa.Engine
    proxy: TcpProxy


def empty_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        quoted = ", ".join(f'"{t}"' for t in tables)
        conn.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def private_postgres():
    """A PostgreSQL server of this test session's own (see ``PrivatePostgres``)."""
    bindir = _find_bindir()
    _need(
        bindir is not None and (bindir / "pg_ctl").exists(),
        "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql",
    )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _need(False, "running as root, and there is no postgres user to run initdb as")
    server = PrivatePostgres(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def private_database_url(private_postgres):
    """The URL of a migrated database ``app`` on the private server (direct, no proxy)."""
    private_postgres.ensure_running()
    admin = sa.create_engine(private_postgres.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE app"))
    admin.dispose()
    url = private_postgres.url("app")
    engine = db.create_engine(url)
    db.migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def pg_proxy_engine(private_postgres, private_database_url, monkeypatch):
    """``(engine, proxy)``: the emptied private database behind a fresh ``TcpProxy``, with short
    timeouts, installed as the process engine and in the settings."""
    private_postgres.ensure_running()
    direct = db.create_engine(private_database_url)
    empty_tables(direct)
    direct.dispose()
    with TcpProxy((private_postgres.host, private_postgres.port)) as proxy:
        url = proxy.url("app")
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("DASHBOARD_DB_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT_S))
        monkeypatch.setenv("DASHBOARD_DB_STATEMENT_TIMEOUT", str(STATEMENT_TIMEOUT_S))
        get_settings.cache_clear()
        engine = db.create_engine(url)
        db.set_engine(engine)
        try:
            yield ProxiedDatabase(engine, proxy)
        finally:
            db.set_engine(None)
            engine.dispose()
    get_settings.cache_clear()


def elapsed(since: float) -> float:
    return time.monotonic() - since
