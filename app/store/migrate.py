"""Schema migrations: Alembic driven from code, with no alembic.ini.

Why no ini file: the only settings Alembic needs are where the scripts live and which database to
touch, and both are known here; an ini file would be a second place that names the database, which
the one-place-reads-the-environment rule forbids.

Why a lock: the image migrates on every start, so instances started together run the migrations at
the same moment, and two processes creating the same tables fail one of them inside the database
(PostgreSQL's catalog, SQLite's schema). `serialise_migrations` makes the second one wait for the first
and then find nothing left to do.

Why a worker thread: the async `migrations/env.py` runs its own event loop (`asyncio.run`). Running
Alembic on a private thread means the sync entry points work whether or not the caller's thread
already has a loop, and the async entry points never block the caller's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.store.engine import create_engine

T = TypeVar("T")

# The advisory lock key every Airdate process migrates under: the bytes of "airdate!" as a bigint, so
# it is unlikely to collide with another application's lock on a shared server.
MIGRATION_LOCK_KEY = int.from_bytes(b"airdate!", "big")
SQLITE_MIGRATION_WAIT_MS = 300_000  # how long a SQLite migration waits for another one to finish

# The Alembic scripts. In a source checkout `app/migrations` is a symlink to the repository's
# top-level `migrations/`; in an installed wheel it is the copy the wheel carries (package data).
# One path for both, so `airdate migrate` never looks beside site-packages.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic `Config` for the repository's `migrations/` and `database_url`.

    The URL travels in `attributes`, not the ini-style options, because those go through
    configparser interpolation and a percent-encoded password would be mangled.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (blocks until done)."""
    _on_worker_thread(lambda: command.upgrade(alembic_config(database_url), revision))


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Like `upgrade`, for callers already inside an event loop."""
    await asyncio.to_thread(upgrade, database_url, revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database to `revision` ("base" removes every table the migrations made)."""
    _on_worker_thread(lambda: command.downgrade(alembic_config(database_url), revision))


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None for a database never migrated."""

    async def read() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_revision_of)
        finally:
            await engine.dispose()

    return _on_worker_thread(lambda: asyncio.run(read()))


def serialise_migrations(connection: Connection) -> None:
    """Make `connection` the only one migrating this database until its transaction ends.

    Called by `migrations/env.py` before Alembic reads the current revision, so a process that waited
    reads the revision its predecessor left. PostgreSQL: a transaction-level advisory lock, released by
    the commit or by the connection dying with its process. SQLite: BEGIN IMMEDIATE takes the write
    lock up front (the driver would otherwise run each CREATE TABLE outside any transaction), after
    raising this connection's busy timeout so a waiting process outlasts a long migration.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    elif dialect == "sqlite":
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_MIGRATION_WAIT_MS}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _on_worker_thread(work: Callable[[], T]) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="airdate-migrate") as pool:
        return pool.submit(work).result()
