"""Every setting the service reads, from the environment or a `.env` file, in one place."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./enrolbot.db"

# Users paste the URL their hosting gives them; we add the async driver ourselves.
_ASYNC_DRIVERS = {
    # The documented form; store.db.make_engine runs every SQLite URL through
    # store.sqlite_driver, whatever driver it names.
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite+inloop": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+psycopg",
}


class SettingsError(Exception):
    """A setting that cannot work; the message is one line a user can act on."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    secret_key: str = Field("", validation_alias="ENROLBOT_SECRET_KEY")
    public_url: str = Field("http://127.0.0.1:8000", validation_alias="ENROLBOT_PUBLIC_URL")
    admins: str = Field("", validation_alias="ENROLBOT_ADMINS")
    link_max_age_days: int = Field(0, ge=0, validation_alias="ENROLBOT_LINK_MAX_AGE_DAYS")

    smtp_url: str = Field("", validation_alias="SMTP_URL")
    delivery_seconds: float = Field(1.0, ge=0, validation_alias="ENROLBOT_DELIVERY_SECONDS")
    # How long a worker may hold a channel's deliveries before another may take over (it died);
    # keep it well above SLACK_TIMEOUT_SECONDS.
    delivery_lease_seconds: float = Field(
        30.0, gt=0, validation_alias="ENROLBOT_DELIVERY_LEASE_SECONDS"
    )

    slack_signing_secret: str = Field("", validation_alias="SLACK_SIGNING_SECRET")
    slack_bot_token: str = Field("", validation_alias="SLACK_BOT_TOKEN")
    slack_client_id: str = Field("", validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str = Field("", validation_alias="SLACK_CLIENT_SECRET")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_timeout_seconds: float = Field(10, gt=0, validation_alias="SLACK_TIMEOUT_SECONDS")

    microsoft_app_id: str = Field("", validation_alias="MICROSOFT_APP_ID")
    microsoft_app_password: str = Field("", validation_alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str = Field("", validation_alias="MICROSOFT_APP_TENANT_ID")
    microsoft_authority_host: str = Field(
        "https://login.microsoftonline.com", validation_alias="MICROSOFT_AUTHORITY_HOST"
    )
    microsoft_ca_bundle: str = Field("", validation_alias="MICROSOFT_CA_BUNDLE")
    botframework_openid_metadata: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        validation_alias="BOTFRAMEWORK_OPENID_METADATA",
    )

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(
                "DATABASE_URL is not a database URL; expected something like "
                f"{DEFAULT_DATABASE_URL} or postgresql://user@host/dbname"
            ) from None
        driver = _ASYNC_DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"DATABASE_URL uses '{url.drivername}', but enrolbot runs on SQLite or PostgreSQL"
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("ENROLBOT_PUBLIC_URL must start with http:// or https://")
        return value.rstrip("/")

    @cached_property
    def secret_keys(self) -> list[str]:
        """Signing keys, newest first, as the setting lists them."""
        return [k.strip() for k in self.secret_key.split(",") if k.strip()]

    @cached_property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admins.split(",") if e.strip())

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_client_id))

    @property
    def teams_enabled(self) -> bool:
        return bool(
            self.microsoft_app_id and self.microsoft_app_password and self.microsoft_app_tenant_id
        )

    def require_secret_key(self) -> None:
        if not self.secret_keys:
            raise SettingsError(
                "ENROLBOT_SECRET_KEY is not set: make one with `enrolbot secret new` and "
                "export ENROLBOT_SECRET_KEY=<that key> (or put it in .env)."
            )


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = first["loc"][0] if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        if str(where).upper() not in message:
            message = f"{str(where).upper()}: {message}"
        raise SettingsError(message) from None
