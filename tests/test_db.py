"""The database layer: migrations on both backends, SQLite settings, transactional scopes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from dashboard import db
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
