"""Settings, read once from the environment and validated up front.

Why one place: a bad value must stop start-up with one line naming the variable, not surface later as
a confusing upstream error. Everything else receives a frozen `Settings` and never reads the
environment itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from dotenv import dotenv_values

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/airdate.db"
LogFormat = Literal["text", "json"]
HIDDEN = "***"
_SECRET_FIELDS = frozenset({"secret_keys", "trakt_client_secret", "tmdb_token"})
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; `str()` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_keys: tuple[str, ...] = ()
    public_url: str = "http://localhost:8000"
    trakt_client_id: str | None = None
    trakt_client_secret: str | None = None
    tmdb_token: str | None = None
    trakt_api_url: str = "https://api.trakt.tv"
    trakt_auth_url: str = "https://auth.trakt.tv"
    tmdb_api_url: str = "https://api.themoviedb.org"
    tmdb_image_url: str = "https://image.tmdb.org/t/p/"
    cache_ttl: int = 3600
    log_format: LogFormat = "text"

    def __repr__(self) -> str:
        """Every value, but secrets as `***` (and a database password too): `Services` holds the
        settings, so any log line or traceback that shows them must not show what they guard."""
        shown = ", ".join(f"{field.name}={self._shown(field.name)}" for field in fields(self))
        return f"Settings({shown})"

    def _shown(self, name: str) -> str:
        value = getattr(self, name)
        if name == "database_url":
            return repr(_URL_PASSWORD.sub(rf"\1{HIDDEN}@", value))
        if name not in _SECRET_FIELDS or not value:
            return repr(value)
        if isinstance(value, tuple):
            return repr((HIDDEN,) * len(value))
        return repr(HIDDEN)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv: Path | None = Path(".env"),
        require_secret_keys: bool = True,
    ) -> Settings:
        """Build settings from `environ` (default: the process environment) over an optional `.env`.

        The process environment wins over `.env`, as operators expect when they override one value
        on the command line.
        """
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            raw = values.get(name)
            return raw.strip() if raw is not None and raw.strip() else None

        keys = _secret_keys(get("AIRDATE_SECRET_KEYS"))
        if require_secret_keys and not keys:
            raise ConfigError("AIRDATE_SECRET_KEYS", "required; create one with `airdate keygen`")
        defaults = cls()
        return cls(
            database_url=_database_url(get("AIRDATE_DATABASE_URL") or defaults.database_url),
            secret_keys=keys,
            public_url=_http_url("AIRDATE_PUBLIC_URL", get("AIRDATE_PUBLIC_URL"), defaults.public_url),
            trakt_client_id=get("AIRDATE_TRAKT_CLIENT_ID"),
            trakt_client_secret=get("AIRDATE_TRAKT_CLIENT_SECRET"),
            tmdb_token=get("AIRDATE_TMDB_TOKEN"),
            trakt_api_url=_http_url(
                "AIRDATE_TRAKT_API_URL", get("AIRDATE_TRAKT_API_URL"), defaults.trakt_api_url
            ),
            trakt_auth_url=_http_url(
                "AIRDATE_TRAKT_AUTH_URL", get("AIRDATE_TRAKT_AUTH_URL"), defaults.trakt_auth_url
            ),
            tmdb_api_url=_http_url(
                "AIRDATE_TMDB_API_URL", get("AIRDATE_TMDB_API_URL"), defaults.tmdb_api_url
            ),
            tmdb_image_url=_http_url(
                "AIRDATE_TMDB_IMAGE_URL", get("AIRDATE_TMDB_IMAGE_URL"), defaults.tmdb_image_url
            )
            + "/",
            cache_ttl=_cache_ttl(get("AIRDATE_CACHE_TTL"), defaults.cache_ttl),
            log_format=_log_format(get("AIRDATE_LOG_FORMAT"), defaults.log_format),
        )

    def require_trakt(self) -> str:
        """The Trakt client id, or a ConfigError naming the variable, for verbs that talk to Trakt."""
        if not self.trakt_client_id:
            raise ConfigError(
                "AIRDATE_TRAKT_CLIENT_ID", "required to talk to Trakt; see README 'Trakt setup'"
            )
        return self.trakt_client_id


def _secret_keys(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "AIRDATE_SECRET_KEYS",
                f"key #{position} is not a valid key (32 url-safe base64 bytes); "
                "create one with `airdate keygen`",
            ) from None
    return keys


def _database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise ConfigError(
            "AIRDATE_DATABASE_URL",
            f"unsupported URL scheme {scheme or raw!r}; use sqlite+aiosqlite:///path.db "
            "or postgresql+asyncpg://user@host/db",
        )
    return raw


def _http_url(variable: str, raw: str | None, default: str) -> str:
    value = raw or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(variable, f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def _cache_ttl(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        seconds = int(raw)
    except ValueError:
        raise ConfigError("AIRDATE_CACHE_TTL", f"{raw!r} is not a whole number of seconds") from None
    if not 60 <= seconds <= 86400:
        raise ConfigError("AIRDATE_CACHE_TTL", f"{seconds} is out of range (60 to 86400 seconds)")
    return seconds


_LOG_FORMATS: dict[str, LogFormat] = {"text": "text", "json": "json"}


def _log_format(raw: str | None, default: LogFormat) -> LogFormat:
    if raw is None:
        return default
    known = _LOG_FORMATS.get(raw)
    if known is None:
        raise ConfigError("AIRDATE_LOG_FORMAT", f"{raw!r} is not a log format; use text or json")
    return known
