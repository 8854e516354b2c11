"""Poster lookups through the media cache against the sandbox's TMDB, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.entries import Entry, Episode, Movie, Release, Show
from app.feeds.posters import PosterService
from app.sandbox.model import Dataset
from app.store.engine import create_engine, create_session_factory
from app.store.tables import MediaItem
from app.upstream.tmdb import TmdbClient, create_tmdb
from tests.support.rig import POLL, Rig
from tests.support.sql import statements
from tests.support.waiting import eventually, reaches

TMDB = "/3/"
AIRED = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def tmdb_client(rig: Rig) -> TmdbClient:
    client = create_tmdb(rig.settings(), rig.http, clock=rig.clock)
    assert client is not None
    return client


def service(rig: Rig, tmdb: TmdbClient | None = None, **options: Any) -> PosterService:
    return PosterService(rig.sessions, tmdb or tmdb_client(rig), rig.clock, **options)


def dataset(rig: Rig) -> Dataset:
    return rig.sandbox.state.dataset()


def episode(trakt: int, tmdb: int | None, imdb: str | None = None, tvdb: int | None = None) -> Episode:
    show = Show(trakt_id=trakt, title=f"Show {trakt}", tmdb_id=tmdb, imdb_id=imdb, tvdb_id=tvdb)
    return Episode(trakt_id=trakt * 100 + 1, show=show, season=1, number=1, first_aired=AIRED)


def release(trakt: int, tmdb: int | None, imdb: str | None = None) -> Release:
    movie = Movie(trakt_id=trakt, title=f"Movie {trakt}", tmdb_id=tmdb, imdb_id=imdb)
    return Release(movie=movie, date=AIRED.date(), kind="theatrical")


def sandbox_show(rig: Rig, trakt: int) -> Episode:
    show = dataset(rig).show(trakt)
    return episode(trakt, show.ids.tmdb, show.ids.imdb, show.ids.tvdb)


def sandbox_movie(rig: Rig, trakt: int) -> Release:
    movie = next(m for m in dataset(rig).movies if m.ids.trakt == trakt)
    return release(trakt, movie.ids.tmdb, movie.ids.imdb)


def sandbox_movie_imdb(rig: Rig, trakt: int) -> str:
    imdb = next(m for m in dataset(rig).movies if m.ids.trakt == trakt).ids.imdb
    assert imdb is not None
    return imdb


def tmdb_calls(rig: Rig) -> int:
    return rig.sandbox.state.count(TMDB)


async def tmdb_fault(rig: Rig, **spec: Any) -> None:
    await rig.control("faults", {"prefix": TMDB, **spec})


def poster_url(rig: Rig, kind: str, tmdb_id: int) -> str:
    titles = dataset(rig).tmdb_tv if kind == "tv" else dataset(rig).tmdb_movies
    path = titles[tmdb_id].poster_path
    assert path is not None
    return tmdb_client(rig).image_url(path)


async def test_posters_come_from_tmdb_ids_and_are_asked_once_a_week(rig: Rig) -> None:
    entries: list[Entry] = [
        sandbox_show(rig, 1),
        sandbox_show(rig, 1),
        sandbox_show(rig, 3),
        sandbox_movie(rig, 102),
    ]
    posters = service(rig)

    urls, complete = await posters.posters(entries)

    assert complete
    assert urls == {
        ("show", 1): poster_url(rig, "tv", 60_001),
        ("show", 3): poster_url(rig, "tv", 60_003),
        ("movie", 102): poster_url(rig, "movie", 50_102),
    }
    assert all(url.startswith("https://images.example/t/p/w500/") for url in urls.values())
    assert tmdb_calls(rig) == 3

    rig.clock.advance(days=6)
    another_instance = service(rig)
    assert await another_instance.posters(entries) == (urls, True)
    assert tmdb_calls(rig) == 3

    rig.clock.advance(days=1, seconds=1)
    assert await posters.posters(entries) == (urls, True)
    assert tmdb_calls(rig) == 6


async def test_without_a_tmdb_id_the_title_is_found_by_imdb_then_tvdb(rig: Rig) -> None:
    fresh_start = dataset(rig).show(7)  # Trakt lacks its TMDB id
    assert fresh_start.ids.tmdb is None and fresh_start.ids.tvdb is not None
    by_tvdb = episode(70, None, imdb="tt0000001", tvdb=fresh_start.ids.tvdb)
    entries: list[Entry] = [sandbox_show(rig, 7), sandbox_movie(rig, 105), by_tvdb]
    posters = service(rig)

    urls, complete = await posters.posters(entries)

    assert complete
    assert urls == {
        ("show", 7): poster_url(rig, "tv", 60_007),
        ("movie", 105): poster_url(rig, "movie", 50_105),
        ("show", 70): poster_url(rig, "tv", 60_007),
    }
    finds = [c.query for c in rig.sandbox.state.calls if c.path.startswith("/3/find/")]
    assert any("imdb_id" in q for q in finds) and any("tvdb_id" in q for q in finds)
    calls = tmdb_calls(rig)
    assert await service(rig).posters(entries) == (urls, True)
    assert tmdb_calls(rig) == calls


async def test_titles_tmdb_does_not_know_or_without_posters_get_none_and_are_remembered(rig: Rig) -> None:
    unknown = episode(500, 999_999)
    no_poster = sandbox_show(rig, 9)
    no_ids = episode(8, None)  # nothing to look it up by
    entries: list[Entry] = [unknown, no_poster, no_ids, release(600, None, imdb="tt0000002")]
    posters = service(rig)

    assert await posters.posters(entries) == ({}, True)
    calls = tmdb_calls(rig)
    assert calls == 3  # tv 999999 (404), tv 60009 (no poster), find tt0000002 (no match)

    rig.clock.advance(hours=12)
    assert await posters.posters(entries) == ({}, True)
    assert tmdb_calls(rig) == calls


async def test_no_tmdb_token_means_no_posters_and_no_calls(rig: Rig) -> None:
    posters = PosterService(rig.sessions, None, rig.clock)

    assert await posters.posters([sandbox_show(rig, 1)]) == ({}, True)
    assert tmdb_calls(rig) == 0


@pytest.mark.parametrize("status", [503, 429])
async def test_tmdb_failures_give_no_poster_and_are_not_remembered(rig: Rig, status: int) -> None:
    entries: list[Entry] = [sandbox_show(rig, 1), sandbox_movie(rig, 102)]
    posters = service(rig)
    await tmdb_fault(rig, status=status, retry_after=60)

    assert await posters.posters(entries) == ({}, False)

    await rig.clear_faults()
    rig.clock.advance(minutes=5)  # past the client's rest after TMDB trouble
    urls, complete = await posters.posters(entries)
    assert complete and set(urls) == {("show", 1), ("movie", 102)}


async def test_a_poster_tmdb_cannot_renew_is_kept_and_asked_again(rig: Rig) -> None:
    """A poster is renewed weekly; when TMDB fails just then, the feed keeps the poster it had (losing
    it would change, then restore, every event of that title), and says it is not final."""
    entries: list[Entry] = [sandbox_show(rig, 1), release(7, None, imdb=sandbox_movie_imdb(rig, 102))]
    posters = service(rig)
    first, complete = await posters.posters(entries)
    assert complete and set(first) == {("show", 1), ("movie", 7)}

    rig.clock.advance(days=7, seconds=1)  # both the TMDB id found by IMDb id and the poster expired
    await tmdb_fault(rig, status=503, retry_after=60)
    assert await posters.posters(entries) == (first, False)

    await rig.clear_faults()
    rig.clock.advance(minutes=5)  # past the client's rest after TMDB trouble
    calls = tmdb_calls(rig)
    assert await posters.posters(entries) == (first, True)
    assert tmdb_calls(rig) > calls  # renewed this time


async def test_a_slow_tmdb_cannot_hold_the_caller_past_the_timeout(rig: Rig) -> None:
    entries: list[Entry] = [sandbox_show(rig, n) for n in (1, 2, 3, 5)]
    posters = service(rig, timeout=0.3)
    await tmdb_fault(rig, delay_ms=1500)  # slower than our timeout, within the client's own
    loop = asyncio.get_running_loop()

    started = loop.time()
    urls, complete = await posters.posters(entries)
    elapsed = loop.time() - started

    assert elapsed < 1.0
    assert not complete
    await posters.drain()  # the lookups went on in the background and filled the cache
    calls = tmdb_calls(rig)
    urls, complete = await posters.posters(entries)
    assert complete and len(urls) == 4
    assert tmdb_calls(rig) == calls


async def test_concurrent_lookups_of_one_title_share_one_tmdb_call(rig: Rig) -> None:
    posters = service(rig)
    await tmdb_fault(rig, delay_ms=100)

    results = await asyncio.gather(*(posters.posters([sandbox_show(rig, 1)]) for _ in range(20)))

    assert all(result == results[0] for result in results) and results[0][1]
    assert tmdb_calls(rig) == 1


async def test_instances_asking_at_once_ask_tmdb_once_and_a_failed_winner_frees_its_leases(
    rig: Rig, database_url: str
) -> None:
    """The instance that lost the leases waits for the winner; a winner whose TMDB calls failed
    releases its leases, so the next asker (here a third instance, at the same instant) asks again."""
    entries: list[Entry] = [sandbox_show(rig, 1), sandbox_movie(rig, 102)]
    await tmdb_fault(rig, status=503, delay_ms=200)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        instances = [
            PosterService(create_session_factory(engine), tmdb_client(rig), rig.clock, poll_interval=POLL)
            for engine in engines
        ]
        results = await asyncio.gather(*(instance.posters(entries) for instance in instances))
    finally:
        for engine in engines:
            await engine.dispose()

    assert results == [({}, False), ({}, False)]
    assert tmdb_calls(rig) == len(entries)  # each title asked once, by whichever instance won it
    await rig.clear_faults()
    urls, complete = await service(rig).posters(entries)  # a fresh client: no rest after the trouble
    assert complete and set(urls) == {("show", 1), ("movie", 102)}


async def test_answers_that_arrive_while_the_database_is_busy_are_stored_in_one_write(
    rig: Rig, database_url: str
) -> None:
    """Every answer queues behind the one writer while another transaction blocks media_cache writes.

    The block starts once the leases are taken (a write of their own) and the questions are out.
    """
    entries: list[Entry] = [*(sandbox_show(rig, n) for n in (1, 2, 3, 5)), sandbox_movie(rig, 102)]
    await tmdb_fault(rig, delay_ms=500)
    engine, blocker = create_engine(database_url), create_engine(database_url)
    inserts = statements(engine, "INSERT INTO media_cache")
    try:
        posters = PosterService(create_session_factory(engine), tmdb_client(rig), rig.clock, timeout=5.0)
        lookup = asyncio.ensure_future(posters.posters(entries))
        await eventually(partial(leased_rows, blocker, len(entries)), "the leases")
        async with blocker.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.exec_driver_sql("LOCK TABLE media_cache IN SHARE ROW EXCLUSIVE MODE")
            else:  # any write statement holds SQLite's one write lock until commit
                await connection.execute(delete(MediaItem).where(MediaItem.media_type == "none"))
            await eventually(reaches(partial(tmdb_calls, rig), len(entries)), "TMDB's answers")
            await asyncio.sleep(0.1)  # the answers' last hop to the client
        urls, complete = await lookup
    finally:
        await engine.dispose()
        await blocker.dispose()

    answers = [statement for statement in inserts if "DO UPDATE" in statement.upper()]
    assert len(inserts) - len(answers) == 1  # the leases' placeholders, all in one statement
    assert complete and len(urls) == len(entries)
    assert 1 <= len(answers) <= 2  # the answer that met the lock, then everything queued behind it
    assert await service(rig).posters(entries) == (urls, True)
    assert tmdb_calls(rig) == len(entries)


async def leased_rows(engine: AsyncEngine, count: int) -> bool:
    async with engine.connect() as connection:
        leased = await connection.scalar(
            select(func.count()).select_from(MediaItem).where(MediaItem.lease_until.is_not(None))
        )
    return leased == count
