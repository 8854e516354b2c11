"""Secrets: no token, key, client secret or TMDB token in any repr, log record, output or raw row.

A secret printed once is a secret kept forever in someone's log collector, so this is searched
everywhere a person or a tool could read: the repr and str of every service object, every log record
of a whole scenario (root logger at DEBUG), every byte the CLI and a real `airdate serve` print, and
the database as stored (the SQLite file and its WAL, PostgreSQL's rows).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.config import Settings
from app.container import open_services
from app.crypto import generate_key

DB_PASSWORD = "db-password-never-shown"


def settings_with_secrets(tmp_path: Path, tmdb_token: str = "eyJ-a-v4-read-token-never-shown") -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        secret_keys=(generate_key(), generate_key()),
        trakt_client_id="client-id",
        trakt_client_secret="client-secret-never-shown",
        tmdb_token=tmdb_token,
    )


def secrets_of(settings: Settings) -> list[str]:
    found = [*settings.secret_keys, settings.trakt_client_secret, settings.tmdb_token]
    return [secret for secret in found if secret]


def assert_hidden(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{where} shows a secret"


def test_settings_repr_and_str_hide_secrets_but_show_the_rest(tmp_path: Path) -> None:
    settings = settings_with_secrets(tmp_path)
    pg = dataclasses.replace(settings, database_url=f"postgresql+asyncpg://airdate:{DB_PASSWORD}@db/airdate")
    for shown in (repr(settings), str(settings), repr(pg), f"{pg}"):
        assert_hidden(shown, [*secrets_of(settings), DB_PASSWORD], "Settings")
        assert "trakt_client_id='client-id'" in shown
        assert "tmdb_token='***'" in shown and "trakt_client_secret='***'" in shown
        assert "secret_keys=('***', '***')" in shown
    assert "postgresql+asyncpg://airdate:***@db/airdate" in repr(pg)
    assert "tmdb_token=None" in repr(Settings())


async def test_no_service_object_shows_a_secret(tmp_path: Path) -> None:
    """repr/str of `Services` and of each service in it, and of what the clients hold (the HTTP
    client, its headers); both TMDB token kinds (a v4 Bearer token, a v3 key sent as a parameter)."""
    for token in ("eyJ-a-v4-read-token-never-shown", "v3-key-never-shown"):
        settings = settings_with_secrets(tmp_path, tmdb_token=token)
        secrets = secrets_of(settings)
        async with open_services(settings) as services:
            objects: dict[str, object] = {"Services": services}
            for field in dataclasses.fields(services):
                objects[field.name] = getattr(services, field.name)
            objects["http.headers"] = services.http.headers
            for name, value in objects.items():
                assert_hidden(repr(value), secrets, f"repr({name})")
                assert_hidden(str(value), secrets, f"str({name})")
