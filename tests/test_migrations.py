"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from app.store.engine import create_engine
from app.store.migrate import alembic_config, current_revision, downgrade, upgrade, upgrade_async
from app.store.tables import Base

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def schema_diff(database_url: str, metadata: sa.MetaData) -> list[Any]:
    """Alembic's autogenerate diff between the live database and `metadata` (empty = identical)."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def snapshot(database_url: str) -> dict[str, Any]:
    """Tables with their columns, indexes, unique constraints and foreign keys, as reflected."""

    def reflect(connection: Connection) -> dict[str, Any]:
        inspector = sa.inspect(connection)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted(i["name"] or "" for i in inspector.get_indexes(table)),
                sorted(u["name"] or "" for u in inspector.get_unique_constraints(table)),
                sorted(f["name"] or "" for f in inspector.get_foreign_keys(table)),
            )
            for table in inspector.get_table_names()
        }

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(reflect)
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_matches_models_exactly(database_url: str) -> None:
    downgrade(database_url, "base")
    assert set(await snapshot(database_url)) <= {"alembic_version"}
    await upgrade_async(database_url)
    assert current_revision(database_url) == HEAD
    assert await schema_diff(database_url, Base.metadata) == []
    assert set(await snapshot(database_url)) == {*Base.metadata.tables, "alembic_version"}


async def test_downgrade_to_base_leaves_no_tables(database_url: str) -> None:
    assert current_revision(database_url) == HEAD
    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert set(await snapshot(database_url)) <= {"alembic_version"}


async def test_upgrading_twice_is_a_no_op(database_url: str) -> None:
    before = await snapshot(database_url)
    # The sync entry point, called from inside this test's running loop: it must not clash with it.
    upgrade(database_url)
    await upgrade_async(database_url)
    assert current_revision(database_url) == HEAD
    assert await snapshot(database_url) == before


def _mutated(change: str) -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    feeds = metadata.tables["feeds"]
    if change == "add_column":
        feeds.append_column(sa.Column("extra", sa.Integer()))
    elif change == "modify_type":
        feeds.c.name.type = sa.Integer()
    elif change == "modify_nullable":
        feeds.c.name.nullable = True
    elif change == "add_index":
        sa.Index("ix_feeds_name", feeds.c.name)
    return metadata


@pytest.mark.parametrize("change", ["add_column", "modify_type", "modify_nullable", "add_index"])
async def test_comparison_would_notice_a_drift(database_url: str, change: str) -> None:
    """Guards the exactness test above: an empty diff must mean equal, not "compared nothing"."""
    diff = await schema_diff(database_url, _mutated(change))
    flat = [item for entry in diff for item in (entry if isinstance(entry, list) else [entry])]
    assert [item[0] for item in flat] == [change]


def test_sqlite_upgrade_creates_the_directory(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "nested" / "airdate.db"
    url = f"sqlite+aiosqlite:///{database}"
    upgrade(url)
    assert database.is_file()
    assert current_revision(url) == HEAD
