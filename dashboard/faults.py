"""Which database errors mean "temporarily unavailable, try again" (no Streamlit here).

SQLite busy beyond its timeout, a PostgreSQL server restarted, unreachable or silent (a connect
timeout, or the client deadline of ``db.py`` cutting the connection), a statement cancelled by
``statement_timeout`` or ``lock_timeout``, no pooled connection free in time: the transaction has
been rolled back by ``db.session_scope``, so nothing is half-written and the user can simply
retry. Anything else (a constraint violated, a NUL byte in a text value, a missing table or
another bug, even where SQLite calls it an OperationalError) is not an outage and must surface as
what it is.
"""

from __future__ import annotations

import sqlalchemy.exc

#: SQLite result codes (and their extended codes, e.g. SQLITE_IOERR_WRITE) meaning "the database
#: cannot be used right now": another writer holds it beyond busy_timeout, the file cannot be
#: opened, read or written.
SQLITE_OUTAGES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL")

#: Catch these, then ask ``is_outage`` whether to show "please retry". ``TimeoutError`` is the
#: pool's: every connection busy for ``pool_timeout`` (each is held at most its deadline).
DATABASE_ERRORS = (sqlalchemy.exc.DBAPIError, sqlalchemy.exc.TimeoutError)


def is_outage(err: BaseException) -> bool:
    """True for a lost/refused/timed-out connection, a statement cancelled by a timeout, or a
    busy/locked database.

    psycopg's ``QueryCanceled`` (statement_timeout), ``LockNotAvailable`` (lock_timeout) and
    ``ConnectionTimeout`` are ``OperationalError`` s, and so are they once SQLAlchemy wraps them.
    """
    name = getattr(getattr(err, "orig", None), "sqlite_errorname", None)  # sqlite3.Error's
    if name is not None:
        # SQLite raises OperationalError for a missing table and a syntax error too: bugs.
        return name.startswith(SQLITE_OUTAGES) or bool(getattr(err, "connection_invalidated", 0))
    if isinstance(err, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return True
    if isinstance(err, sqlalchemy.exc.TimeoutError):
        return True
    return isinstance(err, sqlalchemy.exc.DBAPIError) and bool(err.connection_invalidated)
