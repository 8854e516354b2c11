"""Instances that start together migrate together: every `airdate migrate` succeeds, on both backends.

Why real processes: the image migrates on every start, so two containers (or a container restarted
beside a running one) run `airdate migrate` at the same moment against one fresh database. Two
processes creating the same tables race inside the database itself (PostgreSQL's catalog, SQLite's
schema), which nothing short of separate processes and a real server reproduces.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app.store.migrate import alembic_config, current_revision, upgrade
from tests.fixtures.db import PostgresDatabases
from tests.support.cli import AIRDATE, BASE_ENV

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
INSTANCES = 3
ROUNDS = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A maker of URLs of new, empty databases (never migrated), on each backend."""
    if request.param == "sqlite":
        made = iter(range(1_000))
        yield lambda: f"sqlite+aiosqlite:///{tmp_path / f'fresh-{next(made)}' / 'airdate.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    urls: list[str] = []

    def make() -> str:
        urls.append(databases.create_empty())
        return urls[-1]

    yield make
    for url in urls:
        databases.drop(url)


def test_instances_migrating_a_fresh_database_at_once_all_succeed(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    for _ in range(ROUNDS):
        url = fresh_database()
        env = {**BASE_ENV, "AIRDATE_DATABASE_URL": url}
        processes = [
            subprocess.Popen(
                [str(AIRDATE), "migrate"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(INSTANCES)
        ]
        outcomes = [(process.communicate(timeout=60)[1], process.returncode) for process in processes]
        assert [status for _, status in outcomes] == [0] * INSTANCES, outcomes
        assert current_revision(url) == HEAD


def test_a_migration_waits_out_another_that_holds_a_fresh_file_past_the_usual_busy_timeout(
    tmp_path: Path,
) -> None:
    """The wait covers the connection's own set-up too: turning on WAL needs the lock that a migration
    in another process holds, and the driver's usual 5 s wait failed a CI run with "database is
    locked" while the first of several instances was still creating the schema."""
    database = tmp_path / "fresh.db"
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of creating the schema
    release = threading.Timer(6.0, holder.execute, ["COMMIT"])
    release.start()
    try:
        upgrade(f"sqlite+aiosqlite:///{database}")
    finally:
        release.join()
        holder.close()
    assert current_revision(f"sqlite+aiosqlite:///{database}") is not None
