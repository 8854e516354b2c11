"""Settings for an app pointed at the sandbox: one builder, so every test agrees on the credentials.

The credentials are the sandbox's defaults (`app.sandbox.create_sandbox`); a test that needs a
misconfigured or otherwise different app says so through `overrides`.
"""

from __future__ import annotations

from app.core.config import Settings
from app.store.secrets import generate_key

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_TMDB_TOKEN = "sandbox-tmdb-token"


def sandbox_settings(database_url: str, sandbox_url: str, public_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_keys": (generate_key(),),
        "public_url": public_url,
        "trakt_client_id": SANDBOX_CLIENT_ID,
        "trakt_client_secret": SANDBOX_CLIENT_SECRET,
        "tmdb_token": SANDBOX_TMDB_TOKEN,
        "trakt_api_url": sandbox_url,
        "trakt_auth_url": sandbox_url,
        "tmdb_api_url": sandbox_url,
        "tmdb_image_url": "https://image.tmdb.org/t/p/",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
