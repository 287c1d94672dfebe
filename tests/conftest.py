"""Shared fixtures. Every database test runs on SQLite, and again on PostgreSQL when
``TEST_DATABASE_URL`` is set. Each run isolates itself: SQLite gets a fresh file per test (copied
from a template migrated once), PostgreSQL a schema of its own per test session (per xdist
worker), emptied between tests and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from dashboard import accounts, db, passwords
from dashboard.settings import get_settings
from models import InquiryForm, User

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if TEST_DATABASE_URL else [])
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Argon2 with minimal cost: the tests hash hundreds of passwords."""
    fast = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    original = passwords._hasher
    passwords._hasher = fast
    yield
    passwords._hasher = original


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path):
    """No test reads the developer's environment or touches data/inquiries.db."""
    for key in list(os.environ):
        if key.startswith("DASHBOARD_") or key == "DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.setenv("DASHBOARD_DEMO", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    db.set_engine(None)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.create_engine(f"sqlite:///{path}")
    db.migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine():
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:  # once, in public: concurrent test sessions would race on it inside the migration
        with admin.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            # A migration run elsewhere first (the benchmark's schema) created it in its own
            # schema, which this session's search path does not see; dropping that schema
            # would also drop it. Public is where every test schema finds it.
            conn.execute(sa.text("ALTER EXTENSION pg_trgm SET SCHEMA public"))
    except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
        pass  # another session created it at the same moment
    engine = db.create_engine(
        TEST_DATABASE_URL,
        connect_args={"options": f"-csearch_path={schema},public"},
        pool_size=10,
    )
    db.migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate(engine):
    """Empty every table of the test schema (whatever later migrations added)."""
    with engine.begin() as conn:
        tables = (
            conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        quoted = ", ".join(f'"{t}"' for t in tables)
        conn.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def engine(backend, request, tmp_path, sqlite_template):
    """A migrated, empty database on each backend, also installed as the process engine."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        eng = db.create_engine(f"sqlite:///{path}")
    else:
        eng = request.getfixturevalue("pg_engine")
        _truncate(eng)
    db.set_engine(eng)
    yield eng
    if backend == "sqlite":
        db.set_engine(None)
    else:
        db._engine = None  # shared across tests: do not dispose


@pytest.fixture
def session(engine):
    with db.session_scope(engine) as s:
        yield s


@pytest.fixture
def users(engine) -> dict[str, User]:
    """One account per role, plus a second company and a second staff member."""
    specs = {
        "company": ("enterprise", "甲公司进出口有限公司"),
        "company2": ("enterprise", "乙公司贸易有限公司"),
        "staff": ("staff", None),
        "staff2": ("staff", None),
        "manager": ("manager", None),
        "admin": ("admin", None),
    }
    out = {}
    with db.session_scope(engine) as s:
        for name, (role, company) in specs.items():
            out[name] = accounts.create_user(
                s,
                username=name,
                password=PASSWORD,
                role=role,
                company_name=company,
                display_name=name.upper(),
            )
    return out


def valid_form(**overrides) -> InquiryForm:
    values = dict(
        company_name="深圳市测试进出口有限公司",
        province_code="440000",
        city_code="440300",
        district_code="440305",
        address_detail="科技园路1号",
        contact_name="张三",
        mobile="13812345678",
        landline="0755-12345678",
        email="zhangsan@example.com",
        intent="insure",
        other_needs=None,
    )
    values.update(overrides)
    return InquiryForm(**values)


@pytest.fixture
def form_factory():
    return valid_form
