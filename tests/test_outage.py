"""A PostgreSQL outage never hangs the app and never leaves half a write behind.

Every failure here is real: a private PostgreSQL server (``tests/faults.py``) that is stopped or
frozen, or a TCP proxy in front of it that refuses connections or stalls them. The engines use
short timeouts (``CONNECT_TIMEOUT_S`` and ``STATEMENT_TIMEOUT_S`` of ``tests/faults.py``; client
deadline 2 s) so that every wait is bounded and the test measures it.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import sqlalchemy as sa

from dashboard import accounts, bootstrap, db, faults, inquiries
from models import Inquiry, InquiryEvent
from tests.conftest import PASSWORD, valid_form

pytest.register_assert_rewrite("tests.faults")
pytest_plugins = ["tests.faults"]  # the fixtures

from tests.faults import CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_S  # noqa: E402

pytestmark = pytest.mark.postgres

DEADLINE_S = db._deadline_for(STATEMENT_TIMEOUT_S)  # the fixture's: 1 s + 1 s
#: Slack for a loaded test machine on top of each expected wait.
SLACK_S = 1.5


def _company(engine):
    with db.session_scope(engine) as s:
        return accounts.create_user(
            s,
            username="acme-" + uuid.uuid4().hex[:8],
            password=PASSWORD,
            role="enterprise",
            company_name="甲公司",
        )


def _save(engine, actor) -> None:
    with db.session_scope(engine) as s:
        inquiries.save_draft(s, actor=actor, form=valid_form())


def _counts(url: str) -> tuple[int, int]:
    direct = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with direct.connect() as conn:
        counts = tuple(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (Inquiry, InquiryEvent)
        )
    direct.dispose()
    return counts


def _outage(call) -> tuple[BaseException, float]:
    """Run ``call``, which must fail with an outage; the error and how long it took."""
    start = time.monotonic()
    with pytest.raises(faults.DATABASE_ERRORS) as caught:
        call()
    took = time.monotonic() - start
    assert faults.is_outage(caught.value), repr(caught.value)
    return caught.value, took


# -- timeouts in force -------------------------------------------------------------------------


def test_connections_carry_the_statement_timeout_with_the_callers_options(private_database_url):
    engine = db.create_engine(
        private_database_url, statement_timeout=7, connect_args={"options": "-csearch_path=x"}
    )
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "7s"
        assert conn.exec_driver_sql("SHOW search_path").scalar() == "x"
        assert conn.connection.driver_connection.default_deadline == 7 + 5
        info = conn.connection.driver_connection.info
        assert info.get_parameters()["connect_timeout"] == "5"  # the setting's default
        assert info.get_parameters()["tcp_user_timeout"] == "12000"
    engine.dispose()


def test_the_settings_set_the_timeouts_and_a_callers_own_statement_timeout_wins(
    private_database_url, monkeypatch
):
    from dashboard.settings import get_settings

    monkeypatch.setenv("DASHBOARD_DB_STATEMENT_TIMEOUT", "9")
    monkeypatch.setenv("DASHBOARD_DB_CONNECT_TIMEOUT", "3")
    get_settings.cache_clear()
    engine = db.create_engine(private_database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "9s"
        params = conn.connection.driver_connection.info.get_parameters()
        assert params["connect_timeout"] == "3"
    engine.dispose()
    bulk = db.create_engine(
        private_database_url, connect_args={"options": "-c statement_timeout=0"}
    )
    with bulk.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        assert conn.connection.driver_connection.default_deadline is None
    bulk.dispose()


def test_the_fixture_engine_has_short_timeouts(pg_proxy_engine):
    engine, _ = pg_proxy_engine
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"


def test_a_slow_statement_is_cancelled_by_the_server_and_the_connection_survives(
    pg_proxy_engine,
):
    engine, _ = pg_proxy_engine
    fired = db.watchdog.fired
    with engine.connect() as conn:
        err, took = _outage(lambda: conn.exec_driver_sql("SELECT pg_sleep(5)"))
        assert "statement timeout" in str(err)
        assert not err.connection_invalidated  # the server spoke first: no socket cut
        assert 0.9 < took < 1 + SLACK_S
        conn.rollback()
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert db.watchdog.fired == fired


def test_the_client_deadline_cuts_a_round_trip_the_server_does_not_answer(private_database_url):
    # pg_sleep stands in for a silent server: the statement_timeout (10 s) is not reached.
    engine = db.create_engine(private_database_url, statement_timeout=10)
    fired = db.watchdog.fired
    with engine.connect() as conn:
        conn.execution_options(**{db.DEADLINE: 1})
        err, took = _outage(lambda: conn.exec_driver_sql("SELECT pg_sleep(5)"))
    assert err.connection_invalidated
    assert 0.9 < took < 1 + SLACK_S
    assert db.watchdog.fired == fired + 1
    with engine.connect() as conn:  # the pool replaced the connection
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()


def test_long_legitimate_work_is_not_cut(pg_proxy_engine, private_database_url):
    engine, _ = pg_proxy_engine
    with engine.begin() as conn:  # past both the statement timeout (1 s) and the deadline (2 s)
        db.unbounded(conn)
        assert conn.exec_driver_sql("SELECT pg_sleep(2.2), 1").one()[1] == 1
    with engine.connect() as conn:  # and the limits are back for the next transaction
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"
    lenient = db.create_engine(private_database_url, statement_timeout=10)
    with lenient.connect() as conn:  # a 1 s client deadline, switched off for this connection
        conn.execution_options(**{db.DEADLINE: None})
        conn.exec_driver_sql("SELECT pg_sleep(1.2)")
    with lenient.connect() as conn:  # (checked in: the default deadline is back)
        assert conn.connection.driver_connection.deadline == 15
    lenient.dispose()


def test_the_watchdog_costs_microseconds_per_round_trip():
    a, b = socket.socketpair()
    n = 5000
    start = time.perf_counter()
    for _ in range(n):
        db.watchdog.disarm(db.watchdog.arm(a.fileno(), 30))
    per_call = (time.perf_counter() - start) / n
    a.close()
    b.close()
    assert per_call < 50e-6, per_call


# -- a refused connection ---------------------------------------------------------------------


def test_a_stopped_database_fails_fast_writes_nothing_and_the_pool_recovers(
    pg_proxy_engine, private_database_url
):
    engine, proxy = pg_proxy_engine
    company = _company(engine)
    _save(engine, company)  # a pooled connection that worked a moment ago
    before = _counts(private_database_url)
    proxy.stop()
    _, took = _outage(lambda: _save(engine, company))  # the pooled connection
    assert took < CONNECT_TIMEOUT_S + 2
    engine.dispose()
    _, took = _outage(lambda: _save(engine, company))  # a new one
    assert took < CONNECT_TIMEOUT_S + 2
    assert _counts(private_database_url) == before
    proxy.start()
    _save(engine, company)
    assert _counts(private_database_url) == (before[0] + 1, before[1] + 1)


# -- a silent server ---------------------------------------------------------------------------


def test_a_stalled_server_fails_a_new_connection_within_the_connect_timeout(pg_proxy_engine):
    engine, proxy = pg_proxy_engine
    company = _company(engine)
    engine.dispose()
    proxy.stall()
    err, took = _outage(lambda: _save(engine, company))
    assert "timeout" in str(err)
    assert took < CONNECT_TIMEOUT_S + SLACK_S
    proxy.resume()
    _save(engine, company)


def test_a_stalled_server_fails_a_pooled_connection_within_ping_and_connect_timeouts(
    pg_proxy_engine, private_database_url
):
    engine, proxy = pg_proxy_engine
    company = _company(engine)
    _save(engine, company)
    before = _counts(private_database_url)
    proxy.stall()
    _, took = _outage(lambda: _save(engine, company))
    # the liveness check cut by the watchdog, then a new connection that times out
    assert took < db.PING_TIMEOUT_S + CONNECT_TIMEOUT_S + SLACK_S
    proxy.resume()
    _save(engine, company)
    assert _counts(private_database_url) == (before[0] + 1, before[1] + 1)


def test_a_server_that_stalls_mid_transaction_fails_the_next_statement_and_writes_nothing(
    pg_proxy_engine, private_database_url
):
    engine, proxy = pg_proxy_engine
    company = _company(engine)
    before = _counts(private_database_url)

    def save_then_stall():
        with db.session_scope(engine) as s:
            inquiries.save_draft(s, actor=company, form=valid_form())  # flushed, not committed
            proxy.stall()
            inquiries.save_draft(s, actor=company, form=valid_form())

    err, took = _outage(save_then_stall)
    assert err.connection_invalidated
    assert took < DEADLINE_S + SLACK_S
    proxy.resume()  # the proxy sees the client gone and closes the server side: rolled back
    _save(engine, company)
    assert _counts(private_database_url) == (before[0] + 1, before[1] + 1)


def test_a_server_that_stalls_at_commit_fails_it_and_the_transaction_is_all_or_nothing(
    pg_proxy_engine, private_database_url
):
    engine, proxy = pg_proxy_engine
    company = _company(engine)
    before = _counts(private_database_url)

    def save_then_stall():
        with db.session_scope(engine) as s:
            inquiries.save_draft(s, actor=company, form=valid_form())
            proxy.stall()  # the COMMIT waits in the proxy

    err, took = _outage(save_then_stall)
    assert err.connection_invalidated
    assert took < DEADLINE_S + SLACK_S
    proxy.resume()  # the COMMIT may still reach the server: its outcome is unknown to the client
    _save(engine, company)
    after = _counts(private_database_url)
    assert after in [(before[0] + 1, before[1] + 1), (before[0] + 2, before[1] + 2)]


def test_a_server_that_stalls_while_results_stream_fails_the_next_fetch(pg_proxy_engine):
    engine, proxy = pg_proxy_engine

    def stream():
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=10).exec_driver_sql(
                "SELECT generate_series(1, 1000)"
            )
            assert len(result.fetchmany(10)) == 10
            proxy.stall()
            result.fetchall()

    _, took = _outage(stream)
    assert took < DEADLINE_S + SLACK_S


# -- the app's own engine and start-up ---------------------------------------------------------


@pytest.mark.parametrize("fault", ["stop", "stall"])
def test_start_up_on_an_unreachable_database_raises_an_outage(pg_proxy_engine, fault):
    _, proxy = pg_proxy_engine
    db.set_engine(None)  # the process engine, made from the settings (DATABASE_URL → the proxy)
    getattr(proxy, fault)()
    if fault == "stop":
        _, took = _outage(db.migrate)
        assert took < SLACK_S
    _, took = _outage(bootstrap.start)  # (which migrates first)
    assert took < CONNECT_TIMEOUT_S + SLACK_S
    proxy.start() if fault == "stop" else proxy.resume()
    bootstrap.start()


# -- the real server, stopped or frozen --------------------------------------------------------


def test_a_frozen_server_fails_within_the_timeouts_and_recovers(
    private_postgres, private_database_url
):
    engine = db.create_engine(private_database_url, connect_timeout=CONNECT_TIMEOUT_S)
    company = _company(engine)
    _save(engine, company)
    private_postgres.pause()
    try:
        _, took = _outage(lambda: _save(engine, company))
        assert took < db.PING_TIMEOUT_S + CONNECT_TIMEOUT_S + SLACK_S
    finally:
        private_postgres.resume()
    _save(engine, company)
    engine.dispose()


def test_a_restarted_server_fails_fast_then_recovers(private_postgres, private_database_url):
    engine = db.create_engine(private_database_url, connect_timeout=CONNECT_TIMEOUT_S)
    company = _company(engine)
    _save(engine, company)
    private_postgres.stop()
    try:
        _, took = _outage(lambda: _save(engine, company))
        assert took < CONNECT_TIMEOUT_S + SLACK_S
    finally:
        private_postgres.start()
    _save(engine, company)
    engine.dispose()
