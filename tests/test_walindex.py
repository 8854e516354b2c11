"""The SQLite commit probe: the WAL index header moves with every commit, from anywhere, and only then.

`tests/test_feed_rows_cache.py` proves what this buys end to end (rotations and revocations by
another process show on the next request); these pin the probe itself down, including the cases
where the WAL is restarted under it and where there is no WAL index to read.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.engine import HotReader
from app.store.walindex import WalIndexHeader


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[HotReader, sqlite3.Connection, Path]]:
    path = tmp_path / "probe.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    reader = HotReader(f"sqlite+aiosqlite:///{path}")
    yield reader, writer, path
    writer.close()


async def test_the_header_is_what_the_probe_reads_and_it_stays_put_without_commits(
    database: tuple[HotReader, sqlite3.Connection, Path],
) -> None:
    reader, writer, _ = database
    try:
        marker = reader.commit_marker()
        assert isinstance(marker, bytes) and len(marker) == 48  # the header, not the PRAGMA's int
        writer.execute("SELECT count(*) FROM t").fetchone()  # reads are not commits
        assert reader.commit_marker() == marker == reader.commit_marker()
    finally:
        await reader.dispose()


async def test_every_commit_moves_it_from_this_process_and_from_another(
    database: tuple[HotReader, sqlite3.Connection, Path],
) -> None:
    reader, writer, path = database
    try:
        seen = [reader.commit_marker()]
        for value in range(20):
            writer.execute("INSERT INTO t VALUES (?)", (value,))
            seen.append(reader.commit_marker())
        assert len(set(seen)) == len(seen)

        commit = f"import sqlite3; c = sqlite3.connect({str(path)!r}); c.execute('DELETE FROM t'); c.commit()"
        await asyncio.to_thread(subprocess.run, [sys.executable, "-c", commit], check=True)
        assert reader.commit_marker() != seen[-1]
    finally:
        await reader.dispose()


async def test_a_commit_after_the_wal_was_checkpointed_and_restarted_still_moves_it(
    database: tuple[HotReader, sqlite3.Connection, Path],
) -> None:
    """A checkpoint empties the WAL and the next commit starts it over from frame 1, so the frame
    count can come back to a value seen before: the change counter and salts must still differ."""
    reader, writer, _ = database
    try:
        writer.execute("INSERT INTO t VALUES (1)")
        after_first = reader.commit_marker()
        writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        writer.execute("INSERT INTO t VALUES (2)")
        assert reader.commit_marker() != after_first
    finally:
        await reader.dispose()


async def test_without_a_wal_index_the_probe_falls_back_to_data_version(tmp_path: Path) -> None:
    path = tmp_path / "rollback.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("CREATE TABLE t (x)")
    assert WalIndexHeader.open(connection, str(path)) is None  # rollback journal: no index
    connection.close()

    reader = HotReader("sqlite+aiosqlite:///:memory:")  # in memory: no WAL at all
    try:
        assert isinstance(reader.commit_marker(), int)
        assert reader.commit_marker() == reader.commit_marker()
    finally:
        await reader.dispose()
