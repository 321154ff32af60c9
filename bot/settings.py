"""Every setting the service reads, from the environment or a `.env` file, in one place."""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from dotenv import dotenv_values
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store.private_files import replace_private

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./enrolbot.db"
ENV_FILE = Path(".env")
# A key an attacker can search through lets them sign their own Enrol buttons and links;
# 32 random bytes cannot be searched.
MIN_KEY_BYTES = 32
# The Bot Connector's hosts for Teams, as Microsoft publishes them (the Agents SDK's
# TeamsServiceEndpoints): the public cloud, GCC, GCC High and DoD.
DEFAULT_TEAMS_SERVICE_URL_HOSTS = (
    "smba.trafficmanager.net,smba.infra.gcc.teams.microsoft.com,"
    "smba.infra.gov.teams.microsoft.us,smba.infra.dod.teams.microsoft.us"
)

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

    # The HTTP edge (bot/web): who may read /metrics, where the Teams package's privacy and
    # terms links point.
    metrics_token: str = Field("", validation_alias="ENROLBOT_METRICS_TOKEN")
    privacy_url: str = Field("", validation_alias="ENROLBOT_PRIVACY_URL")
    # Bearer token(s) an identity provider sends to /scim/v2, comma-separated to rotate; unset:
    # SCIM is off (404).
    scim_token: str = Field("", validation_alias="ENROLBOT_SCIM_TOKEN")
    terms_url: str = Field("", validation_alias="ENROLBOT_TERMS_URL")

    # The registration page (/register): attempts allowed per client address and per token in
    # any 10 minutes, counted in each worker process.
    register_limit_address: int = Field(
        20, ge=1, validation_alias="ENROLBOT_REGISTER_LIMIT_ADDRESS"
    )
    register_limit_token: int = Field(200, ge=1, validation_alias="ENROLBOT_REGISTER_LIMIT_TOKEN")

    # The REST API (/api/v1): each key may make `burst` requests at once, then `per_second`
    # (a token bucket per key, counted in each worker process).
    api_rate_per_second: float = Field(20.0, gt=0, validation_alias="ENROLBOT_API_RATE_PER_SECOND")
    api_rate_burst: int = Field(100, ge=1, validation_alias="ENROLBOT_API_RATE_BURST")

    smtp_url: str = Field("", validation_alias="SMTP_URL")
    delivery_seconds: float = Field(1.0, ge=0, validation_alias="ENROLBOT_DELIVERY_SECONDS")
    # How long a worker may hold a channel's deliveries before another may take over (it died);
    # keep it well above SLACK_TIMEOUT_SECONDS.
    delivery_lease_seconds: float = Field(
        30.0, gt=0, validation_alias="ENROLBOT_DELIVERY_LEASE_SECONDS"
    )

    # A directory sync that would deactivate or remove more than this share of the people its
    # source covers stops, changes nothing and tells the admins.
    sync_max_removal_percent: float = Field(
        5.0, ge=0, le=100, validation_alias="ENROLBOT_SYNC_MAX_REMOVAL_PERCENT"
    )

    # Webhooks out (bot/webhooks.py): how long a receiver may take to answer, and how long an
    # endpoint may fail without one success before it is paused and the admins are told.
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=60, validation_alias="ENROLBOT_WEBHOOK_TIMEOUT_SECONDS"
    )
    webhook_pause_after_hours: float = Field(
        72.0, gt=0, validation_alias="ENROLBOT_WEBHOOK_PAUSE_AFTER_HOURS"
    )
    # Webhooks may reach plain http:// and addresses inside the network (loopback, private,
    # link-local): for development setups and tests only, since whoever adds a webhook could
    # otherwise make the server call its own network (cloud metadata, internal services).
    webhook_allow_private: bool = Field(False, validation_alias="ENROLBOT_WEBHOOK_ALLOW_PRIVATE")
    # A Learning Record Store for xAPI statements (bot/xapi.py); off when unset.
    xapi_endpoint: str = Field("", validation_alias="XAPI_ENDPOINT")
    xapi_username: str = Field("", validation_alias="XAPI_USERNAME")
    xapi_password: str = Field("", validation_alias="XAPI_PASSWORD")

    # A Moodle site (bot/moodle): enrolments pushed, completions read; off when unset.
    moodle_url: str = Field("", validation_alias="MOODLE_URL")
    moodle_token: str = Field("", validation_alias="MOODLE_TOKEN")
    moodle_student_role_id: int = Field(5, gt=0, validation_alias="MOODLE_STUDENT_ROLE_ID")
    moodle_poll_seconds: float = Field(300.0, ge=30, validation_alias="MOODLE_POLL_SECONDS")
    moodle_poll_batch: int = Field(200, gt=0, le=5000, validation_alias="MOODLE_POLL_BATCH")
    moodle_timeout_seconds: float = Field(
        10.0, gt=0, le=60, validation_alias="MOODLE_TIMEOUT_SECONDS"
    )

    slack_signing_secret: str = Field("", validation_alias="SLACK_SIGNING_SECRET")
    slack_bot_token: str = Field("", validation_alias="SLACK_BOT_TOKEN")
    slack_client_id: str = Field("", validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str = Field("", validation_alias="SLACK_CLIENT_SECRET")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_timeout_seconds: float = Field(10, gt=0, validation_alias="SLACK_TIMEOUT_SECONDS")
    # Sign in with Slack's browser endpoints (authorize, keys); tests point it at a stand-in.
    slack_openid_url: str = Field(
        "https://slack.com/openid/connect/", validation_alias="SLACK_OPENID_URL"
    )

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
    # A Teams activity naming any other host as its serviceUrl is refused: replies and lookups
    # go to that URL, so it must be Microsoft's connector and nobody else's.
    teams_service_url_hosts: str = Field(
        DEFAULT_TEAMS_SERVICE_URL_HOSTS, validation_alias="TEAMS_SERVICE_URL_HOSTS"
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

    @field_validator("privacy_url", "terms_url")
    @classmethod
    def _page_url(cls, value: str, info: ValidationInfo) -> str:
        # Teams accepts only https links in an app package.
        value = value.strip()
        if value and not value.startswith("https://"):
            alias = (
                "ENROLBOT_PRIVACY_URL" if info.field_name == "privacy_url" else "ENROLBOT_TERMS_URL"
            )
            raise ValueError(f"{alias} must start with https://")
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("ENROLBOT_PUBLIC_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("xapi_endpoint")
    @classmethod
    def _xapi_endpoint(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "XAPI_ENDPOINT must be the LRS's xAPI base URL, starting with https:// "
                "(statements go to XAPI_ENDPOINT/statements)"
            )
        return value

    @field_validator("moodle_url")
    @classmethod
    def _moodle_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "MOODLE_URL must be the Moodle site's address, starting with https:// "
                "(e.g. https://moodle.example.edu)"
            )
        return value

    @model_validator(mode="after")
    def _moodle_token(self) -> Settings:
        if self.moodle_url and not self.moodle_token:
            raise ValueError(
                "MOODLE_URL is set without MOODLE_TOKEN: make a web-service token in Moodle "
                "(Site administration > Server > Web services > Manage tokens) and set it, or "
                "unset MOODLE_URL."
            )
        return self

    @model_validator(mode="after")
    def _xapi_credentials(self) -> Settings:
        if self.xapi_endpoint and not (self.xapi_username and self.xapi_password):
            raise ValueError(
                "XAPI_ENDPOINT is set without XAPI_USERNAME and XAPI_PASSWORD: set the Basic "
                "auth credentials the LRS gave enrolbot, or unset XAPI_ENDPOINT."
            )
        return self

    @model_validator(mode="after")
    def _no_half_built_slack(self) -> Settings:
        if self.slack_client_id and not self.slack_bot_token:
            raise ValueError(
                "SLACK_CLIENT_ID is set without SLACK_BOT_TOKEN, but this version cannot yet "
                "install itself into workspaces through Slack's OAuth: set SLACK_BOT_TOKEN "
                "(OAuth & Permissions, Bot User OAuth Token); SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET beside it turn on Sign in with Slack for deep links."
            )
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            raise ValueError(
                "Sign in with Slack needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Basic "
                "Information, App Credentials): set the one that is missing, or unset both."
            )
        return self

    @cached_property
    def secret_keys(self) -> list[str]:
        """Signing keys, newest first, as the setting lists them."""
        return [k.strip() for k in self.secret_key.split(",") if k.strip()]

    @cached_property
    def scim_tokens(self) -> list[str]:
        return [t.strip() for t in self.scim_token.split(",") if t.strip()]

    @cached_property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admins.split(",") if e.strip())

    @cached_property
    def teams_service_hosts(self) -> frozenset[str]:
        return frozenset(
            h.strip().lower().rstrip(".")
            for h in self.teams_service_url_hosts.split(",")
            if h.strip()
        )

    @property
    def xapi_enabled(self) -> bool:
        return bool(self.xapi_endpoint)

    @property
    def moodle_enabled(self) -> bool:
        return bool(self.moodle_url and self.moodle_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and self.slack_bot_token)

    @property
    def teams_enabled(self) -> bool:
        return bool(
            self.microsoft_app_id and self.microsoft_app_password and self.microsoft_app_tenant_id
        )

    @property
    def slack_signin_enabled(self) -> bool:
        """Sign in with Slack for deep links: the app's client credentials beside the bot."""
        return self.slack_enabled and bool(self.slack_client_id and self.slack_client_secret)

    @property
    def entra_signin_enabled(self) -> bool:
        """Entra ID sign-in for deep links uses the Teams bot's app registration."""
        return self.teams_enabled

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def require_secret_key(self) -> None:
        if not self.secret_keys:
            raise SettingsError(
                "ENROLBOT_SECRET_KEY is not set: `enrolbot serve` writes one to ./.env on its "
                "first start, or make one with `enrolbot secret new` and put "
                "ENROLBOT_SECRET_KEY=<that key> in .env."
            )
        for position, key in enumerate(self.secret_keys, 1):
            size = len(key.encode())
            if size < MIN_KEY_BYTES:
                which = (
                    "ENROLBOT_SECRET_KEY"
                    if len(self.secret_keys) == 1
                    else (f"Key {position} of ENROLBOT_SECRET_KEY")
                )
                raise SettingsError(
                    f"{which} is {size} bytes long; a key needs at least {MIN_KEY_BYTES} "
                    "random bytes, or it can be guessed and used to sign Enrol buttons and "
                    "links: make one with `enrolbot secret new`."
                )


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = first["loc"][0] if first["loc"] else ""
        message = first["msg"].removeprefix("Value error, ")
        if where and str(where).upper() not in message:
            message = f"{str(where).upper()}: {message}"
        raise SettingsError(message) from None


def _key_line(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:export\s+)?{name}\s*=.*$", re.MULTILINE)


def ensure_secret_key(env_file: Path = ENV_FILE) -> tuple[list[str], list[str]]:
    """Make the signing key survive restarts: when none is set anywhere, write a new one to
    `env_file` (mode 0600). An exported key silently beats the file's, which breaks every
    button signed with the other one, so a difference is a warning. (notices, warnings)"""
    name = "ENROLBOT_SECRET_KEY"
    exported = os.environ.get(name, "").strip()
    in_file = ""
    if env_file.is_file():
        in_file = (dotenv_values(env_file).get(name) or "").strip()
    if exported or in_file:
        warnings = []
        if exported and in_file and _keys(exported) != _keys(in_file):
            warnings.append(
                f"Warning: {name} in the environment is not the one in ./{env_file}; the "
                "environment's is used, so buttons and links signed with the other no longer "
                f"work. Unset the variable, or list both keys (newest first) in ./{env_file}."
            )
        return [], warnings
    key = secrets.token_urlsafe(MIN_KEY_BYTES)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    entry = (
        f"# Signs Enrol buttons and links; made by `enrolbot serve` on {stamp}. Keep it: "
        "changing it breaks every button already posted.\n"
        f"{name}={key}\n"
    )
    try:
        text = env_file.read_text(encoding="utf-8") if env_file.is_file() else ""
        if _key_line(name).search(text):  # present but blank: fill it in where it stands
            text = _key_line(name).sub(lambda _: entry.rstrip("\n"), text, count=1)
        else:
            text = text + ("\n" if text and not text.endswith("\n") else "") + entry
        replace_private(env_file, text)
    except OSError as exc:
        raise SettingsError(
            f"{name} is not set and ./{env_file} cannot be written ({exc.strerror}): make a key "
            f"with `enrolbot secret new` and set {name} to it."
        ) from None
    # A blank exported value would still beat the file's.
    os.environ.pop(name, None)
    return [f"Made a new signing key and wrote it to ./{env_file}; keep that file."], []


def _keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]
