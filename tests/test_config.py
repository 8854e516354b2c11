"""Settings: every variable read, validated, and a bad one named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import DEFAULT_DATABASE_URL, ConfigError, Settings
from app.store.secrets import generate_key

KEY = generate_key()
WITH_KEY = {"AIRDATE_SECRET_KEYS": KEY}


def test_defaults_match_the_documented_table() -> None:
    settings = Settings.from_env({"AIRDATE_SECRET_KEYS": KEY}, dotenv=None)
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///./data/airdate.db"
    assert settings.secret_keys == (KEY,)
    assert settings.public_url == "http://localhost:8000"
    assert settings.trakt_client_id is None and settings.trakt_client_secret is None
    assert settings.tmdb_token is None
    assert settings.trakt_api_url == "https://api.trakt.tv"
    assert settings.trakt_auth_url == "https://auth.trakt.tv"
    assert settings.tmdb_api_url == "https://api.themoviedb.org"
    assert settings.tmdb_image_url == "https://image.tmdb.org/t/p/"
    assert settings.cache_ttl == 3600
    assert settings.log_format == "text"


def test_every_variable_is_read() -> None:
    other = generate_key()
    settings = Settings.from_env(
        {
            "AIRDATE_DATABASE_URL": "postgresql+asyncpg://u@db/airdate",
            "AIRDATE_SECRET_KEYS": f" {KEY} , {other} ",
            "AIRDATE_PUBLIC_URL": "https://airdate.example.org/",
            "AIRDATE_TRAKT_CLIENT_ID": "id",
            "AIRDATE_TRAKT_CLIENT_SECRET": "secret",
            "AIRDATE_TMDB_TOKEN": "tmdb",
            "AIRDATE_TRAKT_API_URL": "http://127.0.0.1:9/",
            "AIRDATE_TRAKT_AUTH_URL": "http://127.0.0.1:9",
            "AIRDATE_TMDB_API_URL": "http://127.0.0.1:9",
            "AIRDATE_TMDB_IMAGE_URL": "http://127.0.0.1:9/t/p",
            "AIRDATE_CACHE_TTL": "600",
            "AIRDATE_LOG_FORMAT": "json",
        },
        dotenv=None,
    )
    assert settings.database_url == "postgresql+asyncpg://u@db/airdate"
    assert settings.secret_keys == (KEY, other)
    assert settings.public_url == "https://airdate.example.org"
    assert (settings.trakt_client_id, settings.trakt_client_secret) == ("id", "secret")
    assert settings.tmdb_token == "tmdb"
    assert settings.trakt_api_url == "http://127.0.0.1:9"
    assert settings.tmdb_image_url == "http://127.0.0.1:9/t/p/"
    assert settings.cache_ttl == 600
    assert settings.log_format == "json"


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"AIRDATE_SECRET_KEYS={KEY}\nAIRDATE_CACHE_TTL=120\nAIRDATE_TMDB_TOKEN=from-file\n")
    settings = Settings.from_env({"AIRDATE_TMDB_TOKEN": "from-env"}, dotenv=dotenv)
    assert settings.secret_keys == (KEY,)
    assert settings.cache_ttl == 120
    assert settings.tmdb_token == "from-env"


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({}, "AIRDATE_SECRET_KEYS", "required"),
        ({"AIRDATE_SECRET_KEYS": "not-a-key"}, "AIRDATE_SECRET_KEYS", "key #1"),
        ({"AIRDATE_SECRET_KEYS": f"{KEY},short"}, "AIRDATE_SECRET_KEYS", "key #2"),
        ({**WITH_KEY, "AIRDATE_DATABASE_URL": "mysql://x/y"}, "AIRDATE_DATABASE_URL", "mysql"),
        (
            {**WITH_KEY, "AIRDATE_PUBLIC_URL": "airdate.example.org"},
            "AIRDATE_PUBLIC_URL",
            "not an http(s) URL",
        ),
        ({**WITH_KEY, "AIRDATE_TRAKT_API_URL": "ftp://x"}, "AIRDATE_TRAKT_API_URL", "not an http(s) URL"),
        ({**WITH_KEY, "AIRDATE_CACHE_TTL": "an hour"}, "AIRDATE_CACHE_TTL", "whole number"),
        ({**WITH_KEY, "AIRDATE_CACHE_TTL": "5"}, "AIRDATE_CACHE_TTL", "60 to 86400"),
        ({**WITH_KEY, "AIRDATE_LOG_FORMAT": "JSON"}, "AIRDATE_LOG_FORMAT", "use text or json"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(env: dict[str, str], variable: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env, dotenv=None)
    message = str(caught.value)
    assert caught.value.variable == variable
    assert message.startswith(f"{variable}: ")
    assert words in message
    assert "\n" not in message


def test_secret_keys_are_optional_where_the_caller_says_so() -> None:
    assert Settings.from_env({}, dotenv=None, require_secret_keys=False).secret_keys == ()


def test_trakt_client_id_is_required_only_by_what_talks_to_trakt() -> None:
    settings = Settings.from_env({"AIRDATE_SECRET_KEYS": KEY}, dotenv=None)
    with pytest.raises(ConfigError, match=r"^AIRDATE_TRAKT_CLIENT_ID: required"):
        settings.require_trakt()
