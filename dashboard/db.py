"""The database: one engine per process, transactional session scopes, migrations on start.

On SQLite the engine turns on WAL, ``busy_timeout`` and foreign keys, and write scopes begin with
``BEGIN IMMEDIATE`` so that a transaction that reads and then writes never fails half-way with
"database is locked": writers queue for the lock instead. Read scopes use a plain ``BEGIN``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from dashboard import bulkload, rollup
from dashboard.settings import ROOT, get_settings

MIGRATIONS = ROOT / "data" / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
#: SQLite copies the WAL into the database file in the commit that takes it past this many pages
#: (4 KB each; SQLite's default is 1,000). A page of 100 completions writes about 1,200 at a
#: million inquiries (the rows, the status indexes, the search index, the rollup), so with the
#: default every other such commit also ran a checkpoint, ~12 ms with its sync. At 10,000 the
#: pages written again and again (the rollup's, the status indexes' hot leaves) are copied once
#: per ~15 pages of completions: 40 bulk completions took 893–1,298 ms in all instead of
#: 1,207–1,486 ms, median 16–24 ms instead of 32–37 ms. The WAL then grows to ~40 MB at most.
WAL_AUTOCHECKPOINT_PAGES = 10_000

_lock = threading.Lock()
_engine: Engine | None = None


def create_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with this project's connection settings (SQLite pragmas…)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


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
    """Bring the schema up to date (``alembic upgrade heads``). Safe to call on every start."""
    engine = engine or get_engine()
    command.upgrade(alembic_config(engine), "heads")
    with engine.begin() as conn:
        # A bulk load killed half-way left indexes, the search trigger (and index) missing...
        bulkload.repair(conn)
        # ... and the report rollup without triggers. One still running puts it right itself at
        # its end, from its own count of the rows it loaded: a rebuild now would count them twice.
        if not bulkload.running(conn):
            rollup.repair(conn)


def is_empty(engine: Engine | None = None) -> bool:
    """True when the database holds no user accounts and no inquiries (a brand-new install)."""
    engine = engine or get_engine()
    with engine.connect() as conn:
        users = conn.execute(sa.text("SELECT COUNT(*) FROM user_account")).scalar_one()
        inquiries = conn.execute(sa.text("SELECT COUNT(*) FROM inquiry")).scalar_one()
    return users == 0 and inquiries == 0
