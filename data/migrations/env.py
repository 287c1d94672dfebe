"""Alembic environment: the target is SQLModel.metadata; the engine comes from the app's db module."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from dashboard import db

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or db.get_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several app processes starting at once on one database: one migrates, the
                # others wait here and then find the schema at head (DDL is transactional).
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7300013)")
            # A migration building an index on a big table (0021: ~50 s at 1,000,000 inquiries)
            # outlives the app's statement timeout and client deadline, which would cancel it.
            db.unbounded(connection)
            context.run_migrations()
        connection.commit()


run_migrations_online()
