"""Running the installed `airdate` console script as an operator would, with a controlled environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.config import Settings

AIRDATE = Path(sys.executable).with_name("airdate")
# The process environment minus anything of ours, so a developer's AIRDATE_* cannot steer a test.
BASE_ENV = {key: value for key, value in os.environ.items() if not key.startswith("AIRDATE_")}


def run_airdate(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert AIRDATE.is_file(), f"{AIRDATE} is missing: install the project with `pip install -e .`"
    return subprocess.run(
        [str(AIRDATE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def env_for(settings: Settings) -> dict[str, str]:
    """The AIRDATE_* variables that give the command exactly these settings."""
    return {
        **BASE_ENV,
        "AIRDATE_DATABASE_URL": settings.database_url,
        "AIRDATE_SECRET_KEYS": ",".join(settings.secret_keys),
        "AIRDATE_PUBLIC_URL": settings.public_url,
        "AIRDATE_TRAKT_CLIENT_ID": settings.trakt_client_id or "",
        "AIRDATE_TRAKT_CLIENT_SECRET": settings.trakt_client_secret or "",
        "AIRDATE_TMDB_TOKEN": settings.tmdb_token or "",
        "AIRDATE_TRAKT_API_URL": settings.trakt_api_url,
        "AIRDATE_TRAKT_AUTH_URL": settings.trakt_auth_url,
        "AIRDATE_TMDB_API_URL": settings.tmdb_api_url,
    }
