"""Alembic environment: runs migrations over the app's own async engine.

Why the app's engine (`app.store.engine.create_engine`) rather than Alembic's default: it applies the SQLite
pragmas (foreign keys on) and creates the database directory, so a migrated database behaves exactly
like the one the service opens. The URL comes from `config.attributes["database_url"]`, set by
`app.store.migrate.alembic_config`.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.store.engine import create_engine
from app.store.migrate import SQLITE_MIGRATION_WAIT_MS, serialise_migrations
from app.store.tables import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Configure the context on a live connection and run the pending migrations.

    The lock comes first, so the transaction it opens is the one every migration runs in (Alembic
    joins a transaction it finds open) and `run_online`'s commit ends both.
    """
    serialise_migrations(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead, so later
        # migrations can change columns and constraints on both backends with one script.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    """Open the app's engine for the configured URL and migrate over one connection."""
    # A migration waits for another process's migration from the moment it connects.
    engine = create_engine(
        context.config.attributes["database_url"], sqlite_wait=SQLITE_MIGRATION_WAIT_MS / 1000
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `airdate migrate` against a database")
asyncio.run(run_online())
