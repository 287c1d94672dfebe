"""The database layer: migrations on both backends, SQLite settings, PostgreSQL timeouts,
transactional scopes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from dashboard import db, faults
from models import User


def test_migrations_upgrade_an_empty_database_to_the_models(engine):
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"inquiry", "inquiry_event", "user_account", "account_event", "serial_counter"} <= tables
    columns = {c["name"] for c in inspector.get_columns("inquiry")}
    assert {
        "serial",
        "province_code",
        "city_code",
        "district_code",
        "version",
        "assignee_id",
        "submitted_at",
        "completed_at",
    } <= columns
    indexed = {tuple(i["column_names"]) for i in inspector.get_indexes("inquiry")}
    assert ("status", "submitted_at") in indexed
    uniques = [u["column_names"] for u in inspector.get_unique_constraints("inquiry")]
    assert ["serial"] in uniques or ("serial",) in indexed


def test_migrating_twice_is_harmless_and_reaches_every_head(engine):
    db.migrate(engine)
    heads = set(ScriptDirectory.from_config(db.alembic_config()).get_heads())
    with engine.connect() as conn:
        current = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    assert current == heads


def test_sqlite_connections_use_wal_busy_timeout_foreign_keys_and_a_larger_checkpoint(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    assert (tmp_path / "sub" / "x.db").exists()


def test_a_failing_scope_rolls_back(engine):
    try:
        with db.session_scope(engine) as s:
            s.add(User(username="ghost", password_hash="x", role="staff"))
            s.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(User)).scalar_one() == 0


@pytest.mark.parametrize("backend", ["postgres"])
def test_postgres_connections_carry_the_timeouts_besides_the_callers_options(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"
        # a prepared search keeps a plan for its own term (db.create_engine)
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
        assert conn.exec_driver_sql("SHOW search_path").scalar().startswith("test_")
        params = conn.connection.driver_connection.info.get_parameters()
        assert params["connect_timeout"] == "5"
        assert params["keepalives"] == "1"


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_connection_taken_out_of_the_pool_for_bulk_work_has_no_time_limits(engine):
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    raw.detach()  # what the bulk seeder does
    try:
        assert dbapi.execute("SHOW statement_timeout").fetchone()[0] == "0"
        assert dbapi.deadline is None
    finally:
        raw.close()
    with engine.connect() as conn:  # the pool's connections keep theirs
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_busy_is_an_outage_and_a_missing_table_is_a_bug(engine, tmp_path):
    with pytest.raises(sa.exc.OperationalError) as missing, engine.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert not faults.is_outage(missing.value)
    impatient = db.create_engine(str(engine.url), connect_args={"timeout": 0.05})
    blocker = engine.raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(sa.exc.OperationalError) as busy, db.session_scope(impatient) as s:
            s.add(User(username="late", password_hash="x", role="staff"))
    finally:
        blocker.rollback()
        blocker.close()
        impatient.dispose()
    assert faults.is_outage(busy.value)
