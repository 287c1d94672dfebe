"""The migrations and the models describe one schema: one Alembic head, a migrated database that
equals ``models.py`` on both backends, and an older database that still migrates forward."""

from __future__ import annotations

import shutil
import uuid
import warnings

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import models  # noqa: F401  (the tables on SQLModel.metadata)
from dashboard import db
from tests.conftest import TEST_DATABASE_URL

#: The search backends' own objects, made by migrations 0002, 0018 and 0021 and read by the search
#: code only: SQLite's FTS5 tables (virtual tables and their shadow tables) and PostgreSQL's trigram,
#: character and pair indexes. SQLAlchemy cannot describe them in a model.
SEARCH_OBJECTS = ("inquiry_fts", "_trgm", "ix_inquiry_search_chars", "ix_inquiry_search_pairs")

#: The schema of the release before this change (what a database in the field is at).
PREVIOUS_HEADS = ("0002_search", "0005_perf_indexes", "0009_bulk_load_journal")


def _search_object(name: str | None) -> bool:
    return bool(name) and (
        name.startswith(SEARCH_OBJECTS[0])
        or name.endswith(SEARCH_OBJECTS[1])
        or name in SEARCH_OBJECTS[2:]
    )


def _differences(engine) -> list:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect the expression index on lower(username): checked below instead.
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_object": lambda obj, name, *_: not _search_object(name),
            },
        )
        return compare_metadata(context, SQLModel.metadata)


def test_the_migrations_have_one_head():
    script = ScriptDirectory.from_config(db.alembic_config())
    assert len(script.get_heads()) == 1


def test_the_migrated_schema_equals_the_models(engine):
    assert _differences(engine) == []
    with engine.connect() as conn:
        indexes = sa.inspect(conn).get_indexes("user_account")
        names = {i["name"] for i in indexes}
        if engine.dialect.name == "sqlite":  # not reflected by SQLAlchemy: ask SQLite
            names |= {row[1] for row in conn.exec_driver_sql("PRAGMA index_list('user_account')")}
    assert "ix_user_account_username_lower" in names


def test_a_model_change_without_a_migration_is_caught(engine):
    """The comparison above is not vacuous: a column only the model has is reported."""
    table = SQLModel.metadata.tables["inquiry"]
    column = sa.Column("not_migrated", sa.Integer)
    table.append_column(column)
    try:
        found = _differences(engine)
    finally:
        table._columns.remove(column)
    assert [d[0] for d in found] == ["add_column"]


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request, tmp_path):
    """A database migrated to the previous release's heads, holding an account and an inquiry."""
    if request.param == "sqlite":
        engine = db.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"old_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = db.create_engine(
        TEST_DATABASE_URL, connect_args={"options": f"-csearch_path={schema},public"}
    )
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_a_database_of_the_previous_release_migrates_forward(old_database):
    config = db.alembic_config(old_database)
    for head in PREVIOUS_HEADS:
        command.upgrade(config, head)
    with old_database.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO user_account (username, password_hash, role, is_active, "
                "failed_logins, must_change_password, created_at) "
                "VALUES ('Staff', 'x', 'staff', TRUE, 0, FALSE, CURRENT_TIMESTAMP)"
            )
        )
    db.migrate(old_database)
    assert _differences(old_database) == []
    with old_database.connect() as conn:
        assert conn.execute(sa.text("SELECT username FROM user_account")).scalars().all() == [
            "Staff"
        ]
        heads = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert heads == ScriptDirectory.from_config(config).get_heads()


def test_the_shipped_template_copy_is_at_head(sqlite_template, tmp_path):
    path = tmp_path / "copy.db"
    shutil.copy(sqlite_template, path)
    engine = db.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert version == ScriptDirectory.from_config(db.alembic_config()).get_heads()
