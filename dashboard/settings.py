"""Settings, read once from the environment (and a ``.env`` file). Nothing else reads os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "inquiries.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB}",
        validation_alias=AliasChoices("DATABASE_URL", "DASHBOARD_DATABASE_URL"),
    )
    #: None = automatic: on for an empty embedded (SQLite) database, off otherwise.
    demo: bool | None = Field(default=None, validation_alias="DASHBOARD_DEMO")
    #: How many inquiries demo mode seeds into an empty database.
    demo_rows: int = Field(default=3000, validation_alias="DASHBOARD_DEMO_ROWS")
    #: Working days a submitted inquiry may wait before it counts as overdue (超时).
    sla_working_days: int = Field(default=2, ge=1, validation_alias="DASHBOARD_SLA_DAYS")
    #: Idle minutes after which a logged-in session must log in again.
    session_idle_minutes: int = Field(default=30, ge=1, validation_alias="DASHBOARD_IDLE_MINUTES")
    #: Company self-registration (企业注册) on the login page.
    allow_registration: bool = Field(default=False, validation_alias="DASHBOARD_REGISTRATION")
    #: Demo accounts on PostgreSQL must be asked for explicitly.
    allow_demo_on_postgres: bool = Field(
        default=False, validation_alias="DASHBOARD_ALLOW_DEMO_ON_POSTGRES"
    )
    #: PostgreSQL: seconds a new connection may take (libpq ``connect_timeout``; psycopg makes
    #: anything below 2 into 2).
    db_connect_timeout_s: int = Field(
        default=5, ge=1, validation_alias="DASHBOARD_DB_CONNECT_TIMEOUT"
    )
    #: PostgreSQL: seconds one statement may run (server ``statement_timeout``; 0 = no limit).
    #: The client gives up on a server that stops answering a little after it (``db.py``).
    db_statement_timeout_s: int = Field(
        default=30, ge=0, validation_alias="DASHBOARD_DB_STATEMENT_TIMEOUT"
    )
    timezone: str = "Asia/Shanghai"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; ``get_settings.cache_clear()`` re-reads the environment."""
    return Settings()
