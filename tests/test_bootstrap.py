"""Start-up: migrations, and demo mode only where DESIGN.md allows it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard import bootstrap, db
from dashboard.settings import Settings


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_an_empty_embedded_database_gets_demo_data_on_first_start(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    info = bootstrap.start(
        engine, Settings(DATABASE_URL=str(engine.url), DASHBOARD_DEMO=None, DASHBOARD_DEMO_ROWS=120)
    )
    assert info.seeded and info.demo_active
    assert _count(engine, "inquiry") == 120
    with engine.connect() as conn:
        names = set(conn.execute(sa.text("SELECT username FROM user_account")).scalars())
    assert {"company", "staff", "manager", "admin"} <= names
    # The second start finds data and seeds nothing more.
    again = bootstrap.start(
        engine, Settings(DATABASE_URL=str(engine.url), DASHBOARD_DEMO=None, DASHBOARD_DEMO_ROWS=120)
    )
    assert not again.seeded and again.demo_active
    assert _count(engine, "inquiry") == 120


def test_demo_off_leaves_an_empty_database_empty(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    info = bootstrap.start(engine, Settings(DATABASE_URL=str(engine.url), DASHBOARD_DEMO=False))
    assert not info.seeded and not info.demo_active
    assert _count(engine, "user_account") == 0


def test_demo_is_refused_on_postgres_unless_explicitly_allowed(engine):
    if engine.dialect.name != "postgresql":
        assert bootstrap.demo_allowed(Settings(DASHBOARD_DEMO=None), engine)
        return
    assert not bootstrap.demo_allowed(Settings(DASHBOARD_DEMO=None), engine)
    with pytest.raises(bootstrap.DemoRefused):
        bootstrap.demo_allowed(Settings(DASHBOARD_DEMO=True), engine)
    allowed = Settings(DASHBOARD_DEMO=True, DASHBOARD_ALLOW_DEMO_ON_POSTGRES=True)
    assert bootstrap.demo_allowed(allowed, engine)
