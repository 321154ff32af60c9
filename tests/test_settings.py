from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_defaults_run_on_a_local_sqlite_file():
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./enrolbot.db"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.slack_enabled is False and settings.teams_enabled is False


def test_plain_urls_get_the_async_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pw@db.internal/enrol")
    assert (
        load_settings(_env_file=None).database_url
        == "postgresql+asyncpg://bot:pw@db.internal/enrol"
    )
    monkeypatch.setenv("DATABASE_URL", "sqlite:///./x.db")
    assert load_settings(_env_file=None).database_url == "sqlite+aiosqlite:///./x.db"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("not a url", "DATABASE_URL is not a database URL"),
        ("mysql://root@localhost/x", "DATABASE_URL uses 'mysql'"),
    ],
)
def test_a_wrong_database_url_is_one_clear_line(monkeypatch, value, says):
    monkeypatch.setenv("DATABASE_URL", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith(says)
    assert "\n" not in str(caught.value)


def test_keys_are_listed_newest_first_and_blanks_are_ignored(monkeypatch):
    monkeypatch.setenv("ENROLBOT_SECRET_KEY", " new , old ,")
    assert load_settings(_env_file=None).secret_keys == ["new", "old"]


@pytest.mark.parametrize("value", ["", " , "])
def test_an_empty_secret_says_how_to_make_one(monkeypatch, value):
    monkeypatch.setenv("ENROLBOT_SECRET_KEY", value)
    with pytest.raises(SettingsError, match="enrolbot secret new"):
        load_settings(_env_file=None).require_secret_key()


def test_admins_compare_without_case(monkeypatch):
    monkeypatch.setenv("ENROLBOT_ADMINS", "Boss@Example.com, hr@example.com")
    assert load_settings(_env_file=None).admin_emails == {"boss@example.com", "hr@example.com"}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("short", "ENROLBOT_SECRET_KEY is 5 bytes long"),
        ("x" * 31, "ENROLBOT_SECRET_KEY is 31 bytes long"),
        ("x" * 32 + ",old", "Key 2 of ENROLBOT_SECRET_KEY is 3 bytes long"),
    ],
)
def test_a_key_shorter_than_32_bytes_is_refused_with_the_reason(monkeypatch, value, says):
    monkeypatch.setenv("ENROLBOT_SECRET_KEY", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None).require_secret_key()
    assert str(caught.value).startswith(f"{says}; a key needs at least 32 random bytes")


def test_a_key_of_32_bytes_is_accepted(monkeypatch):
    monkeypatch.setenv("ENROLBOT_SECRET_KEY", "é" * 16)  # 16 characters, 32 bytes
    load_settings(_env_file=None).require_secret_key()


def test_a_slack_client_id_without_a_bot_token_is_refused_in_a_sentence(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("SLACK_CLIENT_ID is set without SLACK_BOT_TOKEN")
    assert "\n" not in str(caught.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    settings = load_settings(_env_file=None)
    # Beside a bot token, the client credentials turn on Sign in with Slack for deep links.
    assert settings.slack_enabled is True and settings.slack_signin_enabled is True


def test_sign_in_with_slack_needs_both_client_credentials(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    with pytest.raises(SettingsError, match="needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"):
        load_settings(_env_file=None)
    monkeypatch.delenv("SLACK_CLIENT_ID")
    assert load_settings(_env_file=None).slack_signin_enabled is False
