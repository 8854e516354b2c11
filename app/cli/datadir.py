"""The start-up check that the SQLite data directory is writable by the uid the process runs as.

Why a check of its own: the image runs as a numeric non-root user, and a bind mount owned by another
uid is the commonest way a first start fails. SQLite then says only "unable to open database file",
which reads like a wrong AIRDATE_DATABASE_URL; the operator needs the directory and the uid instead.
Why a real probe instead of `os.access`: only creating a file tells the truth about ACLs, read-only
mounts and root squashing alike. PostgreSQL keeps its data elsewhere, so there is nothing to check.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from app.cli.errors import CliError
from app.store.engine import sqlite_file


def check_data_directory(database_url: str) -> None:
    """Raise CliError naming the directory (or file) and uid when SQLite could not write there."""
    database = sqlite_file(make_url(database_url))
    if database is None:
        return
    database = database.absolute()
    directory = database.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CliError(_unwritable("data directory", directory, exc)) from None
    if database.exists():
        try:
            with database.open("r+b"):
                pass
        except OSError as exc:
            raise CliError(_unwritable("database file", database, exc)) from None


def _unwritable(what: str, path: Path, exc: OSError) -> str:
    uid = os.geteuid()
    return (
        f"{what} {path} is not writable by uid {uid}, the user Airdate runs as ({exc.strerror or exc}); "
        f"give that uid write access (e.g. `chown -R {uid} {path}`) or mount a writable volume there"
    )
