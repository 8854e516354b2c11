"""A feed row kept in memory must never outlive the row: the next request sees every change.

The warm path no longer reads the database on every poll (`app/feedrows.py`), so these tests pin
what that read used to guarantee. A rotated, revoked or edited feed changes on the very next
request served by an instance that did not make the change: another set of services in this process
(its own engine and connections), another process (the `airdate` CLI) writing to the same SQLite
file or PostgreSQL database, and, on PostgreSQL, while the notification channel is down.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.domain.options import FeedOptions
from app.store.engine import HotReader, create_engine
from app.store.feedrows import CHANNEL, FeedRows, PostgresChannel, SqliteVersion
from app.web.app import create_app
from tests.fixtures.app import RunningApp, free_port
from tests.fixtures.db import PostgresDatabases
from tests.fixtures.sandbox import RunningSandbox
from tests.support.cli import env_for, run_airdate
from tests.support.server import serve
from tests.support.settings import sandbox_settings
from tests.support.waiting import eventually, eventually_blocking

LISTENER = "airdate-feed-rows"  # the application_name of the LISTEN connection


def _warm(url: str) -> bytes:
    """Poll twice, so the second answer came from the warm path (feed row and body in memory)."""
    first = httpx.get(url)
    second = httpx.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    return second.content


def test_changes_made_by_another_instance_take_effect_on_the_next_request(running_app: RunningApp) -> None:
    app = running_app
    feed = app.connect()
    url = f"{app.url}/feeds/{feed.token}.ics"
    assert b"BEGIN:VALARM" not in _warm(url)

    app.update_feed(feed.id, options=FeedOptions(alarm=30))
    assert b"BEGIN:VALARM" in httpx.get(url).content

    app.update_feed(feed.id, name="Renamed elsewhere")
    assert "Renamed elsewhere" in httpx.get(url).text

    rotated = app.rotate_feed(feed.id)
    new_url = f"{app.url}/feeds/{rotated.token}.ics"
    assert httpx.get(url).status_code == 404
    _warm(new_url)

    app.revoke_feed(feed.id)
    assert httpx.get(new_url).status_code == 404


def test_a_new_time_zone_shows_on_the_next_request(running_app: RunningApp) -> None:
    """The zone is part of the feed row, not of its entries: nothing upstream changes with it."""
    app = running_app
    feed = app.connect()
    app.update_feed(feed.id, options=FeedOptions(all_day=True))  # all-day events name the zone
    url = f"{app.url}/feeds/{feed.token}.ics"
    assert b"(America/New_York)" in _warm(url)

    app.change_time_zone(feed.user_id, "America/Chicago")
    moved = httpx.get(url).text
    assert "(America/Chicago)" in moved and "(America/New_York)" not in moved


def test_stored_options_that_equal_an_override_keep_the_plain_urls_own_sequence_history(
    running_app: RunningApp,
) -> None:
    """A URL with overrides is a subscription of its own, with its own SEQUENCE history; when the
    stored options become what it asked for, the plain URL's events changed (an alarm came) and must
    say so with a higher SEQUENCE, exactly as an instance that never served the override says."""
    app = running_app
    feed = app.connect()
    url = f"{app.url}/feeds/{feed.token}.ics"
    assert b"SEQUENCE:1" not in _warm(url)
    assert b"BEGIN:VALARM" in _warm(url + "?alarm=30")

    app.clock.advance(minutes=10)
    app.update_feed(feed.id, options=FeedOptions(alarm=30))
    plain = httpx.get(url).content
    assert b"BEGIN:VALARM" in plain
    assert b"SEQUENCE:0" not in plain and b"SEQUENCE:1" in plain
    fresh_port = free_port()
    with serve(create_app(app.settings, clock=app.clock, background=False), port=fresh_port) as fresh:
        assert httpx.get(f"{fresh}/feeds/{feed.token}.ics").content == plain


def test_changes_made_by_another_process_take_effect_on_the_next_request(
    running_app: RunningApp,
) -> None:
    app = running_app
    feed = app.connect()
    url = f"{app.url}/feeds/{feed.token}.ics"
    env = env_for(app.settings)
    assert b"BEGIN:VALARM" not in _warm(url)

    assert _cli(env, "feeds", "update", str(feed.id), "--set", "alarm=15").returncode == 0
    assert b"TRIGGER:-PT15M" in httpx.get(url).content

    rotated = _cli(env, "feeds", "rotate", str(feed.id))
    assert rotated.returncode == 0, rotated.stderr
    assert httpx.get(url).status_code == 404
    new_url = next(line for line in rotated.stdout.split() if "/feeds/" in line)
    _warm(new_url)

    assert _cli(env, "feeds", "revoke", str(feed.id)).returncode == 0
    assert httpx.get(new_url).status_code == 404


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_airdate(*args, env=env, cwd=Path.cwd())


@pytest.fixture
def postgres_app(postgres_databases: PostgresDatabases, sandbox: RunningSandbox) -> Iterator[RunningApp]:
    """The app on PostgreSQL only: the notification channel exists only there."""
    database_url = postgres_databases.clone()
    port = free_port()
    settings = sandbox_settings(database_url, sandbox.url, f"http://127.0.0.1:{port}")
    sandbox.state.config.device_interval = 0
    try:
        with serve(create_app(settings, clock=sandbox.clock, background=False), port=port) as url:
            yield RunningApp(url=url, settings=settings, clock=sandbox.clock)
    finally:
        postgres_databases.drop(database_url)


def test_with_the_notification_channel_down_every_request_reads_the_row(postgres_app: RunningApp) -> None:
    app = postgres_app
    feed = app.connect()
    url = f"{app.url}/feeds/{feed.token}.ics"
    _warm(url)
    eventually_blocking(lambda: _listening(app), "the app to LISTEN")
    _warm(url)

    _terminate_listeners(app)
    rotated = app.rotate_feed(feed.id)
    assert httpx.get(url).status_code == 404  # the channel is down: read, not remembered
    new_url = f"{app.url}/feeds/{rotated.token}.ics"
    _warm(new_url)

    # The channel comes back by itself, and what was remembered while it was down is not trusted.
    eventually_blocking(lambda: _listening(app), "the app to LISTEN again")
    _warm(new_url)
    app.update_feed(feed.id, options=FeedOptions(alarm=45))
    assert b"TRIGGER:-PT45M" in httpx.get(new_url).content
    app.revoke_feed(feed.id)
    assert httpx.get(new_url).status_code == 404


async def _listeners(app: RunningApp) -> list[int]:
    return await _admin(
        app,
        "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND datname = current_database()",
    )


async def _listening(app: RunningApp) -> bool:
    return len(await _listeners(app)) == 1


def _terminate_listeners(app: RunningApp) -> None:
    pids = asyncio.run(_listeners(app))
    assert pids
    asyncio.run(
        _admin(
            app,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()",
        )
    )
    # pg_terminate_backend only signals: wait until the backend has gone, so its goodbye reached the app.

    async def gone() -> bool:
        return not set(pids) & set(await _listeners(app))

    eventually_blocking(gone, "the LISTEN backend to exit")


async def _admin(app: RunningApp, sql: str) -> list[int]:
    engine = create_engine(app.settings.database_url)
    try:
        async with engine.connect() as connection:
            return [row[0] for row in await connection.execute(text(sql), {"name": LISTENER})]
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class _Row:
    user_id: int


async def test_a_row_read_while_something_commits_is_answered_but_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "rows.db"
    reader = HotReader(f"sqlite+aiosqlite:///{path}")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x)")
    rows: FeedRows[_Row] = FeedRows(SqliteVersion(reader.commit_marker), capacity=2)
    reads: list[str] = []

    async def read(key: str, commit: bool = False) -> _Row:
        reads.append(key)
        if commit:  # a change lands between the version check and the read's end
            writer.execute("INSERT INTO t VALUES (1)")
        return _Row(user_id=1)

    try:
        await rows.lookup("a", lambda: read("a", commit=True))
        await rows.lookup("a", lambda: read("a"))
        await rows.lookup("a", lambda: read("a"))
        assert reads == ["a", "a"]  # the overlapped read was not kept; the clean one was

        await rows.lookup("b", lambda: read("b"))
        await rows.lookup("c", lambda: read("c"))
        assert len(rows) == 2  # bounded: the least recently used ("a") went
        await rows.lookup("a", lambda: read("a"))
        assert reads[-1] == "a"
    finally:
        writer.close()
        await reader.dispose()


async def test_on_postgresql_rows_are_remembered_while_the_channel_is_up(
    postgres_databases: PostgresDatabases,
) -> None:
    """The other half of the bargain: with the channel up (and its self-test passed) a row is read
    once, not on every poll; a notification for its user makes the next lookup read it again."""
    url = postgres_databases.clone()
    channel = PostgresChannel(url)
    rows: FeedRows[_Row] = FeedRows(channel, capacity=10)
    reads: list[str] = []

    async def read() -> _Row:
        reads.append("k")
        return _Row(user_id=1)

    try:
        await rows.lookup("k", read)  # opens the channel; read through while it is not up yet
        await eventually(channel.current, "the LISTEN channel to come up")
        for _ in range(3):
            await rows.lookup("k", read)
        assert len(reads) == 2

        await _notify(url, "1")
        await eventually(lambda: len(rows) == 0, "the notification to forget user 1's row")
        await rows.lookup("k", read)
        assert len(reads) == 3
    finally:
        await rows.close()
        postgres_databases.drop(url)


async def _notify(url: str, payload: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
            )
    finally:
        await engine.dispose()
