"""Which failures the CLI calls "cannot reach the database", and what every other OSError says.

Every exception here is a real one, raised by the real driver, socket or file system: the line an
operator reads must match what actually went wrong, so a full disk or a taken port is never blamed on
the database, and a database that is down is never called a schema problem.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from app.cli.errors import describe
from app.store.engine import create_engine
from app.store.secrets import generate_key
from tests.fixtures.app import free_port
from tests.support.cli import BASE_ENV, run_airdate

UNREACHABLE = "cannot reach the database"


def failure_of(url: str) -> BaseException:
    """What connecting to `url` and running one statement raises."""

    async def attempt() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
            await asyncio.to_thread(_join_sqlite_workers)

    with pytest.raises(Exception) as caught:
        asyncio.run(attempt())
    return caught.value


def _join_sqlite_workers() -> None:
    """Let aiosqlite's worker threads finish while the loop is still open.

    A connection that fails to open queues its own stop without awaiting it (aiosqlite 0.22); if
    `asyncio.run` closed the loop first, the worker's hand-back raises "Event loop is closed" in its
    thread, and pytest reports that against whichever test runs next.
    """
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            thread.join(timeout=5)


def test_a_refused_connection_is_an_unreachable_database() -> None:
    line = describe(failure_of(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none"))
    assert line.startswith(UNREACHABLE) and "AIRDATE_DATABASE_URL" in line, line


def test_an_unknown_host_is_an_unreachable_database() -> None:
    with pytest.raises(socket.gaierror) as caught:
        socket.getaddrinfo("no-such-host.invalid", 5432)
    assert describe(caught.value).startswith(UNREACHABLE)


def test_sqlite_unable_to_open_its_file_is_an_unreachable_database(tmp_path: Path) -> None:
    line = describe(failure_of(f"sqlite+aiosqlite:///{tmp_path}"))  # a directory, not a file
    assert line.startswith(UNREACHABLE) and "unable to open" in line, line


def test_a_database_that_answers_but_refuses_is_not_called_unreachable() -> None:
    line = describe(failure_of("postgresql+asyncpg://no_such_role@127.0.0.1:5432/test"))
    assert not line.startswith(UNREACHABLE) and "no_such_role" in line, line


def test_a_file_error_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(OSError) as caught:
        tmp_path.open("w")  # a directory
    line = describe(caught.value)
    assert "database" not in line and str(tmp_path) in line and "directory" in line, line


def test_a_port_in_use_says_so() -> None:
    with socket.socket() as taken, socket.socket() as second:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError) as caught:
            second.bind(taken.getsockname())
    line = describe(caught.value)
    assert "database" not in line and "in use" in line, line


def test_the_command_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "AIRDATE_SECRET_KEYS": generate_key(),
        "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}",  # a directory, not a file
    }
    result = run_airdate("feeds", "list", env=env, cwd=tmp_path)  # a real process: its bare stderr
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"airdate: {UNREACHABLE} (unable to open"), result.stderr
