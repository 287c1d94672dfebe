"""Which database errors mean "temporarily unavailable, try again" (no Streamlit here).

SQLite busy beyond its timeout, a PostgreSQL server restarted or a connection dropped mid-session:
the transaction has been rolled back by ``db.session_scope``, so nothing is half-written and the
user can simply retry. Anything else (a constraint violated, a bug) is not an outage and must
surface as what it is.
"""

from __future__ import annotations

import sqlalchemy.exc

#: Catch these, then ask ``is_outage`` whether to show "please retry".
DATABASE_ERRORS = (sqlalchemy.exc.DBAPIError,)


def is_outage(err: BaseException) -> bool:
    """True for a lost/refused connection or a busy/locked database."""
    if isinstance(err, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return True
    return isinstance(err, sqlalchemy.exc.DBAPIError) and bool(err.connection_invalidated)
