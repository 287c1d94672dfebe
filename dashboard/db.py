"""The database: one engine per process, transactional session scopes, migrations on start.

On SQLite the engine turns on WAL, ``busy_timeout`` and foreign keys, and write scopes begin with
``BEGIN IMMEDIATE`` so that a transaction that reads and then writes never fails half-way with
"database is locked": writers queue for the lock instead. Read scopes use a plain ``BEGIN``.

On PostgreSQL a lost database must turn into an error within seconds, never a hang: libpq's
``connect_timeout`` bounds a new connection, the server's ``statement_timeout`` a slow statement,
TCP keepalives and ``tcp_user_timeout`` a peer that vanished from the network. None of them helps
when the server accepts the connection and then stops answering (a frozen server, a proxy that
stalls): its kernel still acknowledges every packet. For that case each round trip of a
connection to the server carries a client-side deadline (``Watchdog``); past it the socket is
shut down, and psycopg fails the statement as a lost connection.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.characteristics import ConnectionCharacteristic
from sqlmodel import Session

from dashboard import bulkload, faults, rollup
from dashboard.settings import ROOT, get_settings

MIGRATIONS = ROOT / "data" / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
#: SQLite copies the WAL into the database file in the commit that takes it past this many pages
#: (4 KB each; SQLite's default is 1,000). A page of 100 completions writes about 1,200 (the rows,
#: the status indexes, the search index, the rollup), so with the default every other such commit
#: also paid a checkpoint; at 10,000 the pages written again and again are copied once per many
#: commits, and the WAL stays within ~40 MB. Measured in BENCHMARKS.md ("bulk_complete_100").
WAL_AUTOCHECKPOINT_PAGES = 10_000

#: Connection execution option (``Connection.execution_options``, ``Engine.execution_options``,
#: ``Session.connection(execution_options=…)``; not per statement): the client-side deadline, in
#: seconds, of each round trip (statement, fetch, commit) of a PostgreSQL connection until it goes
#: back to the pool; ``None`` switches it off. Default: the statement timeout plus a margin.
#: ``unbounded`` sets it together with the server's statement_timeout.
DEADLINE = "db_deadline_s"
#: The client waits this much longer than ``statement_timeout`` (a shorter timeout: as long again):
#: a statement the server cancels itself leaves the connection usable, one whose socket the
#: client shuts down loses it, so the server gets the first word.
DEADLINE_MARGIN_S = 5
#: The liveness check of a pooled connection before it is handed out: a server that is up answers
#: an empty query in milliseconds, and a false alarm only costs a new connection.
PING_TIMEOUT_S = 2
#: A dead peer (no ACKs, e.g. a network black hole) is noticed by keepalives on an idle
#: connection after 30 + 3 × 10 s, and with data in flight after ``tcp_user_timeout``.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}

#: PostgreSQL drivers built on libpq, which take its connection parameters.
LIBPQ_DRIVERS = ("psycopg", "psycopg2")

_lock = threading.Lock()
_engine: Engine | None = None


def create_engine(
    url: str,
    *,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    **kwargs,
) -> Engine:
    """An engine for ``url`` with this project's connection settings (SQLite pragmas; PostgreSQL
    timeouts and the watchdog). The timeouts, in seconds, default to the settings
    ``db_connect_timeout_s`` and ``db_statement_timeout_s``; ``pool_pre_ping=False`` turns off
    the liveness check of pooled connections."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() not in LIBPQ_DRIVERS:
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(url, **kwargs)
    settings = get_settings()
    if connect_timeout is None:
        connect_timeout = settings.db_connect_timeout_s
    if statement_timeout is None:
        statement_timeout = settings.db_statement_timeout_s
    caller = kwargs.pop("connect_args", {})
    # One "options" string reaches the server: ours first, so that a "-c statement_timeout=…" of
    # the URL or the caller (later in the string) wins, and sets the client deadline too.
    theirs = " ".join(o for o in (parsed.query.get("options"), caller.get("options")) if o)
    own = _statement_timeout_in(theirs)
    if own is not None:
        statement_timeout = own
    deadline = _deadline_for(statement_timeout)
    connect_args = {
        "connect_timeout": connect_timeout,
        **KEEPALIVES,
        "tcp_user_timeout": int(deadline * 1000) if deadline else 0,
    }
    connect_args.update({k: v for k, v in parsed.query.items() if k in connect_args})
    connect_args.update(caller)
    # psycopg prepares a statement on the server at its 5th execution on a connection, and the
    # server may then plan it once for any value (a "generic plan"). A search's best plan depends
    # on its term: one plan for all terms read the whole table for a rare pair of characters
    # (1.2 s instead of 16 ms at 1,000,000 inquiries; BENCHMARKS.md, sixth session). Planning
    # costs well under a millisecond.
    ours = "-c statement_timeout=" + str(int(statement_timeout * 1000))
    ours += " -c plan_cache_mode=force_custom_plan"
    connect_args["options"] = (ours + " " + theirs).strip()
    ping = kwargs.pop("pool_pre_ping", True)
    if parsed.get_driver_name() != "psycopg":
        return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=ping, **kwargs)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    ping_timeout = min(connect_timeout, PING_TIMEOUT_S) if ping else None
    _watch(engine, deadline=deadline, ping_timeout=ping_timeout)
    return engine


_TIMEOUT_OPTION = re.compile(r"statement_timeout\s*=\s*'?(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\b")
_UNIT_S = {None: 0.001, "ms": 0.001, "s": 1, "min": 60, "h": 3600}


def _statement_timeout_in(options: str) -> float | None:
    """The last ``statement_timeout`` set in a libpq ``options`` string, in seconds."""
    found = _TIMEOUT_OPTION.findall(options)
    if not found:
        return None
    value, unit = found[-1]
    return float(value) * _UNIT_S[unit or None]


def _deadline_for(statement_timeout: float) -> float | None:
    if not statement_timeout:
        return None
    return statement_timeout + min(statement_timeout, DEADLINE_MARGIN_S)


def unbounded(conn: sa.Connection) -> sa.Connection:
    """Lift the statement timeout (for the rest of ``conn``'s transaction) and the client deadline
    (until ``conn`` is closed): for long legitimate work (rebuilding indexes, a bulk load).

    The ``SET LOCAL`` runs first, under the usual limits: it also shows the server is answering.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        conn.execution_options(**{DEADLINE: None})
    return conn


def set_deadline(dbapi_connection, seconds: float | None) -> None:
    """The deadline of each round trip of a raw psycopg connection (``engine.raw_connection()``),
    until it goes back to the pool; ``None`` switches it off. For bulk work on the driver's own
    connection that sets its own ``statement_timeout``."""
    if _watched_class is not None and isinstance(dbapi_connection, _watched_class):
        dbapi_connection.deadline = seconds


class Watchdog:
    """Shuts down the socket of a connection whose round trip outlived its deadline.

    One daemon thread per process wakes at the earliest deadline, and at least every ``TICK_S``:
    a round trip armed for longer then never has to wake it, so arming costs no more than a
    ``dup`` of the socket and a dictionary entry under a lock. The duplicate keeps
    the socket alive until ``disarm`` (libpq may close its own descriptor as the connection
    breaks, and the number could be reused by another file), and a round trip still armed is
    still waiting: the thread shuts sockets down under the lock that ``disarm`` takes.
    """

    TICK_S = 1.0

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._armed: dict[int, float] = {}  # duplicate descriptor → deadline (monotonic)
        self._wake = math.inf  # when the thread looks next
        self._thread: threading.Thread | None = None
        self.fired = 0  # sockets shut down (for tests and logs)
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._armed.clear()
        self._wake = math.inf
        self._thread = None

    def arm(self, fd: int, seconds: float) -> int:
        """Watch socket ``fd`` for ``seconds``; returns the token for ``disarm``."""
        token = os.dup(fd)
        deadline = time.monotonic() + seconds
        with self._cond:
            self._armed[token] = deadline
            if deadline < self._wake:  # only for a deadline shorter than TICK_S
                self._wake = deadline
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="db-watchdog", daemon=True
                    )
                    self._thread.start()
                else:
                    self._cond.notify()
        return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)
        os.close(token)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                wake = now + self.TICK_S
                for token, deadline in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        self._shut_down(token)
                    else:
                        wake = min(wake, deadline)
                self._wake = wake
                self._cond.wait(wake - now)

    def _shut_down(self, fd: int) -> None:
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
            self.fired += 1
        except OSError:
            pass  # already disconnected
        finally:
            sock.detach()  # the descriptor is disarm's to close


watchdog = Watchdog()


_watched_class: type | None = None  # made on first use: SQLite alone needs no psycopg
_watched_lock = threading.Lock()


def _watched_connection_class() -> type:
    global _watched_class
    with _watched_lock:
        if _watched_class is not None:
            return _watched_class
        import psycopg

        class WatchedConnection(psycopg.Connection):
            """A psycopg connection whose every wait for the server (``Connection.wait``:
            execute, fetch, COPY, commit, rollback) runs under ``deadline`` seconds of the
            watchdog."""

            deadline: float | None = None
            default_deadline: float | None = None
            fresh = True  # not yet handed out by the pool: needs no liveness check

            def wait(self, gen, *args, **kwargs):
                seconds = self.deadline
                if seconds is None:
                    return super().wait(gen, *args, **kwargs)
                token = watchdog.arm(self.pgconn.socket, seconds)
                try:
                    return super().wait(gen, *args, **kwargs)
                finally:
                    watchdog.disarm(token)

        _watched_class = WatchedConnection
        return _watched_class


class _Deadline(ConnectionCharacteristic):
    """``DEADLINE``: set on ``Connection.execution_options``, kept on the driver connection."""

    def reset_characteristic(self, dialect, dbapi_conn) -> None:
        dbapi_conn.deadline = dbapi_conn.default_deadline

    def set_characteristic(self, dialect, dbapi_conn, value) -> None:
        dbapi_conn.deadline = value

    def get_characteristic(self, dialect, dbapi_conn):
        return dbapi_conn.deadline


def _watch(engine: Engine, *, deadline: float | None, ping_timeout: float | None) -> None:
    watched = _watched_connection_class()

    @sa.event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        conn = watched.connect(*cargs, **cparams)
        conn.deadline = conn.default_deadline = deadline
        return conn

    # The execution option as a connection characteristic, which SQLAlchemy resets when the
    # connection goes back to the pool. (A statement event would cost every statement a few µs.)
    characteristics = engine.dialect.connection_characteristics
    engine.dialect.connection_characteristics = characteristics.union({DEADLINE: _Deadline()})

    @sa.event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn, _record):
        if dbapi_conn is not None:
            dbapi_conn.deadline = dbapi_conn.default_deadline

    # A connection taken out of the pool (``detach()``) does long work of its own: the bulk
    # seeder takes its connections so (for session settings that must not reach the pool) and
    # rebuilds indexes for minutes on a big table. Neither limit applies to it.
    @sa.event.listens_for(engine, "detach")
    def _detach(dbapi_conn, _record):
        dbapi_conn.deadline = deadline  # bounded, like any statement
        if dbapi_conn.info.transaction_status == dbapi_conn.info.transaction_status.IDLE:
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True  # a session setting, outside any transaction
            dbapi_conn.execute("SET statement_timeout = 0")
            dbapi_conn.autocommit = autocommit
        else:
            dbapi_conn.execute("SET statement_timeout = 0")  # (kept if the transaction commits)
        dbapi_conn.deadline = dbapi_conn.default_deadline = None

    if ping_timeout is None:
        return

    # pool_pre_ping, but under a deadline: a pooled connection to a server that stopped
    # answering would wait forever for the ping. A failed ping invalidates the whole pool (its
    # other connections are as stale) and the pool retries once with a new connection.
    @sa.event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, _record, _proxy):
        if dbapi_conn.fresh:
            dbapi_conn.fresh = False
            return
        try:
            # One round trip, in autocommit so that no transaction is left open (SQLAlchemy's
            # ping); switching autocommit does not touch the network.
            dbapi_conn.deadline = None
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            dbapi_conn.deadline = ping_timeout
            dbapi_conn.execute(";")
            dbapi_conn.deadline = None
            dbapi_conn.autocommit = autocommit
        except engine.dialect.loaded_dbapi.Error as err:
            raise sa.exc.InvalidatePoolError(f"liveness check failed: {err}") from err
        finally:
            dbapi_conn.deadline = dbapi_conn.default_deadline


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event below decide how transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=" + str(int(SQLITE_BUSY_TIMEOUT_MS)))
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=" + str(WAL_AUTOCHECKPOINT_PAGES))
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_engine() -> Engine:
    """The process-wide engine for ``DATABASE_URL`` (created on first use)."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = create_engine(get_settings().database_url)
        return _engine


def set_engine(engine: Engine | None) -> None:
    """Replace the process-wide engine (tests, tools). ``None`` drops it; the next use recreates it."""
    global _engine
    with _lock:
        old, _engine = _engine, engine
    if old is not None and old is not engine:
        old.dispose()


@contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """A session in one transaction: commits on success, rolls back on any error.

    ``write=False`` is for pages that only read: on SQLite it does not take the write lock.
    """
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        if write and engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_immediate": True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema up to date (``alembic upgrade head``). Safe to call on every start."""
    engine = engine or get_engine()
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        unbounded(conn)  # putting back what a bulk load dropped may take minutes on a big table
        # A bulk load killed half-way left indexes, the search trigger (and index) missing...
        bulkload.repair(conn)
        # ... and the report rollup without triggers. One still running puts it right itself at
        # its end, from its own count of the rows it loaded: a rebuild now would count them twice.
        if not bulkload.running(conn):
            rollup.repair(conn)


def answers(engine: Engine | None = None) -> bool:
    """Whether the database answers a trivial query now (the health check)."""
    try:
        with (engine or get_engine()).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except faults.DATABASE_ERRORS:
        return False
    return True


def is_empty(engine: Engine | None = None) -> bool:
    """True when the database holds no user accounts and no inquiries (a brand-new install)."""
    engine = engine or get_engine()
    with engine.connect() as conn:
        users = conn.execute(sa.text("SELECT COUNT(*) FROM user_account")).scalar_one()
        inquiries = conn.execute(sa.text("SELECT COUNT(*) FROM inquiry")).scalar_one()
    return users == 0 and inquiries == 0
