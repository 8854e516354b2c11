"""The engine, session factory and upsert helper against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete, func, literal_column, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.store.engine import HotReader, create_engine, create_session_factory, ping, upsert
from app.store.tables import CalendarChunk, Feed, FeedEvent, MediaItem, TraktConnection, User

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def make_user(slug: str = "sam") -> User:
    return User(trakt_slug=slug, trakt_username=slug.title(), created_at=NOW, updated_at=NOW)


async def test_sqlite_connections_get_pragmas_and_directory(tmp_path: Path) -> None:
    database = tmp_path / "not" / "yet" / "there.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        # Two connections open at once, so the pool must have set up each one, not just the first.
        async with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                pragmas = {
                    name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                    for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
                }
                # synchronous is reported as a number: 1 is NORMAL.
                assert pragmas == {
                    "journal_mode": "wal",
                    "foreign_keys": 1,
                    "busy_timeout": 5000,
                    "synchronous": 1,
                }
    finally:
        await engine.dispose()
    assert database.is_file()


async def test_utc_datetime_round_trips_aware_utc(session_factory: async_sessionmaker[AsyncSession]) -> None:
    tokyo = timezone(timedelta(hours=9))
    created = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=tokyo)
    async with session_factory() as session:
        user = User(trakt_slug="tz", trakt_username="Tz", created_at=created, updated_at=NOW)
        session.add(user)
        await session.commit()
    async with session_factory() as session:
        loaded = (await session.execute(select(User.created_at, User.updated_at))).one()
    assert loaded.created_at == created
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at.replace(tzinfo=None) == datetime(2026, 3, 1, 0, 30, 15, 123456)
    assert loaded.updated_at == NOW and loaded.updated_at.tzinfo is not None


async def test_naive_datetime_is_rejected(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        session.add(
            User(trakt_slug="naive", trakt_username="N", created_at=datetime(2026, 1, 1), updated_at=NOW)
        )
        with pytest.raises(StatementError, match="naive datetime"):
            await session.commit()


async def test_upsert_inserts_then_updates_only_named_columns(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    key = ("media_type", "id_source", "external_id")
    first = {
        "media_type": "tv",
        "id_source": "tmdb",
        "external_id": "1399",
        "tmdb_id": 1399,
        "poster_path": "/old.jpg",
        "fetched_at": NOW,
    }
    other = {**first, "external_id": "1400", "tmdb_id": 1400, "poster_path": "/b.jpg"}
    later = NOW + timedelta(hours=1)
    async with session_factory() as session:
        await upsert(session, MediaItem, [first, other], key, ["poster_path", "fetched_at"])
        await session.commit()
        # tmdb_id changes in the new values but is not in `update`, so the stored one must stay.
        changed = {**first, "tmdb_id": 9, "poster_path": "/new.jpg", "fetched_at": later}
        await upsert(session, MediaItem, changed, key, ["poster_path", "fetched_at"])
        # An empty update list means "insert if absent": the existing row is left alone.
        await upsert(session, MediaItem, {**other, "poster_path": None}, key)
        await session.commit()
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(
                    MediaItem.external_id, MediaItem.tmdb_id, MediaItem.poster_path, MediaItem.fetched_at
                ).order_by(MediaItem.external_id)
            )
        ).all()
    assert [tuple(row) for row in rows] == [("1399", 1399, "/new.jpg", later), ("1400", 1400, "/b.jpg", NOW)]


async def test_deleting_a_user_cascades(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        keep, gone = make_user("keep"), make_user("gone")
        session.add_all([keep, gone])
        await session.flush()
        for user in (keep, gone):
            feed = Feed(
                user_id=user.id,
                token_hash=f"{user.trakt_slug:0>64}",
                token_encrypted="x",
                name="All",
                options={},
                created_at=NOW,
            )
            session.add_all(
                [
                    feed,
                    TraktConnection(
                        user_id=user.id, access_token="a", refresh_token="r", expires_at=NOW, updated_at=NOW
                    ),
                    CalendarChunk(user_id=user.id, source="shows", start_date=date(2026, 11, 1), days=33),
                ]
            )
            await session.flush()
            session.add(
                FeedEvent(feed_id=feed.id, uid=f"{user.trakt_slug}@airdate", fingerprint="f", modified_at=NOW)
            )
        await session.commit()
        # A Core delete, so only the database's ON DELETE CASCADE can remove the children.
        await session.execute(delete(User).where(User.trakt_slug == "gone"))
        await session.commit()
        counts = {
            model.__tablename__: (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (User, TraktConnection, Feed, CalendarChunk, FeedEvent)
        }
    assert counts == {"users": 1, "trakt_connections": 1, "feeds": 1, "calendar_cache": 1, "feed_events": 1}


async def test_each_test_gets_an_empty_database(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        users = (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one()
    assert users == 0


async def test_hot_reader_runs_each_statement_it_is_given(database_url: str) -> None:
    """Plans were once remembered by `id(statement)`: a statement built after another was freed can
    get the same id, and then ran the freed statement's SQL. Fresh statements here are freed at once."""
    reader = HotReader(database_url)
    try:
        for number in range(200):
            row = await reader.first(select(literal_column(str(number)).label("value")), {})
            assert row == {"value": number}
    finally:
        await reader.dispose()


async def test_ping_answers_on_a_live_database_and_raises_on_an_unreachable_one(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await ping(session_factory)  # the readiness probe's one round trip
    with socket.socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        closed = f"postgresql+asyncpg://nobody@127.0.0.1:{probe.getsockname()[1]}/test"
    engine = create_engine(closed)
    try:
        with pytest.raises(OSError):
            await ping(create_session_factory(engine))
    finally:
        await engine.dispose()
