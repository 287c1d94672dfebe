"""Settings, read once from the environment (and a ``.env`` file). Nothing else reads os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
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
    #: Hours a login lasts at most, however active (the session cookie's lifetime).
    session_hours: int = Field(default=12, ge=1, validation_alias="DASHBOARD_SESSION_HOURS")
    #: Send the session cookie over HTTPS only; set it when the app is served behind HTTPS.
    cookie_secure: bool = Field(default=False, validation_alias="DASHBOARD_COOKIE_SECURE")
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
    #: Outgoing mail (``dashboard.notify``): ``smtp://user:password@host:port``, ``smtps://`` for
    #: TLS from the start, ``?starttls=1`` to upgrade a plain connection. A secret (the password):
    #: never shown in a repr or a log. Without it, and without ``mail_from``, nothing is sent and
    #: the outbox keeps every mail.
    smtp_url: SecretStr | None = Field(default=None, validation_alias="DASHBOARD_SMTP_URL")
    #: The sender of every mail: ``noreply@example.com`` or ``投保咨询 <noreply@example.com>``.
    mail_from: str | None = Field(default=None, validation_alias="DASHBOARD_MAIL_FROM")
    #: Seconds between two runs of the app process's background sender; 0 turns it off (for
    #: installations that send with ``python -m dashboard send-mail`` from cron only).
    mail_interval_s: int = Field(default=30, ge=0, validation_alias="DASHBOARD_MAIL_INTERVAL")
    #: Attempts before a mail that keeps failing is given up on (shown as 发送失败; an
    #: administrator can retry it).
    mail_max_tries: int = Field(default=10, ge=1, validation_alias="DASHBOARD_MAIL_MAX_TRIES")
    #: Seconds before the first retry; each further one waits twice as long (at most 4 hours).
    mail_retry_s: int = Field(default=60, ge=1, validation_alias="DASHBOARD_MAIL_RETRY_SECONDS")
    #: Seconds the SMTP server may take to answer one command.
    mail_timeout_s: int = Field(default=30, ge=1, validation_alias="DASHBOARD_MAIL_TIMEOUT")
    #: Days personal data is kept (``python -m dashboard purge``): completed inquiries older than
    #: this get their contact fields anonymised, drafts untouched for this long are deleted.
    #: 0 (the default) keeps everything: nothing is removed until someone decides how long.
    retention_days: int = Field(default=0, ge=0, validation_alias="DASHBOARD_RETENTION_DAYS")
    #: Whether a company's progress line names the staff member who took its inquiry
    #: (``inquiries.progress``). Off by default: the names of the insurer's people go outside
    #: only when the insurer chooses so; the line then says 业务人员 instead.
    show_staff_names: bool = Field(default=False, validation_alias="DASHBOARD_SHOW_STAFF_NAMES")
    timezone: str = "Asia/Shanghai"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; ``get_settings.cache_clear()`` re-reads the environment."""
    return Settings()
