"""The calendar proxy cache against the real sandbox over HTTP, on SQLite and PostgreSQL.

Upstream calls are counted by the sandbox; time moves with the shared fake clock; the only real waits
are the short lease polls and the sandbox's scripted delays.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.entries import Episode, Release
from app.domain.sources import SOURCES
from app.feeds.calendar import CalendarResult, Window, chunks_for
from app.store.engine import create_engine, create_session_factory
from app.store.tables import CalendarChunk, User
from tests.support.rig import Rig, data_version
from tests.support.sql import statements
from tests.support.waiting import eventually, reaches
from tests.support.world import NEW_YORK, SHOWS, TTL, World, calendar_service

MOVIES = SOURCES["movies"]


def expected_episode_ids(rig: Rig, window: Window) -> set[int]:
    """What Trakt's `shows` calendar holds for the window, straight from the sandbox's catalog."""
    first, after = window.instants()
    return {e.ids.trakt for e in rig.sandbox.state.dataset().episodes if first <= e.first_aired < after}


def episode_ids(result: CalendarResult) -> list[int]:
    return [entry.trakt_id for entry in result.entries if isinstance(entry, Episode)]


# -- fetching and serving ------------------------------------------------------------------------------


async def test_missing_chunks_are_fetched_in_parallel_once_each(world: World) -> None:
    window = world.window(before=30, after=335)
    sources = (SHOWS, MOVIES)
    await world.fault(delay_ms=300)  # every calendar call takes 0.3 s
    loop = asyncio.get_running_loop()

    started = loop.time()
    result = await world.entries(window, sources)
    elapsed = loop.time() - started

    chunk_count = len(chunks_for(window))
    assert chunk_count >= 12
    assert world.calls() == chunk_count * len(sources)
    # One after another the calls would take 0.3 s each; a third of that proves at least three at once
    # with room for a loaded machine (a bound of half of one source's calls failed at load average 7).
    serial = 0.3 * world.calls()
    assert elapsed < serial / 3, f"{elapsed:.2f}s of {serial:.1f}s serial: not fetched in parallel"
    assert set(episode_ids(result)) == expected_episode_ids(world.rig, window)
    released = {
        m.ids.trakt
        for m in world.rig.sandbox.state.dataset().movies
        if m.theatrical and window.start <= m.theatrical <= window.end
    }
    assert {e.movie.trakt_id for e in result.entries if isinstance(e, Release)} == released
    assert not result.stale and not result.incomplete and not result.needs_reconnect
    assert result.failing_since is None
    assert result.fresh_until == world.rig.clock() + TTL


async def test_fresh_chunks_are_answered_without_calling_trakt(world: World) -> None:
    window = world.window()
    first = await world.entries(window)
    calls = world.calls()
    world.rig.clock.advance(minutes=59)

    second = await world.entries(window)

    assert world.calls() == calls
    assert second.entries == first.entries
    assert not second.stale


async def test_stale_chunks_are_served_at_once_and_refreshed_once_in_the_background(world: World) -> None:
    window = world.window()
    first = await world.entries(window)
    calls = world.calls()
    world.rig.clock.advance(TTL.total_seconds() + 60)
    await world.fault(delay_ms=1000)  # a slow Trakt must not slow the stale answer down
    loop = asyncio.get_running_loop()

    started = loop.time()
    stale = await world.entries(window)
    concurrent = await world.entries(window)
    elapsed = loop.time() - started
    await world.calendar.drain()

    assert elapsed < 0.7
    assert stale.stale and stale.entries == first.entries and concurrent.stale
    assert world.calls() == calls + len(chunks_for(window))
    after = await world.entries(window)
    assert not after.stale
    assert after.fresh_until > world.rig.clock()
    assert world.calls() == calls + len(chunks_for(window))


async def test_a_hundred_concurrent_cold_requests_make_one_call_per_chunk(world: World) -> None:
    window = world.window(before=10, after=100)
    await world.fault(delay_ms=100)

    results = await asyncio.gather(*(world.entries(window) for _ in range(100)))

    assert world.calls() == len(chunks_for(window))
    assert all(result.entries == results[0].entries for result in results)
    assert set(episode_ids(results[0])) == expected_episode_ids(world.rig, window)


async def test_two_instances_share_one_call_per_chunk(world: World, database_url: str) -> None:
    window = world.window(before=10, after=100)
    await world.fault(delay_ms=150)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        services = [
            calendar_service(world.rig, world.connections, create_session_factory(engine))
            for engine in engines
        ]
        results = await asyncio.gather(
            *(service.entries(world.user_id, [SHOWS], window) for service in services for _ in range(5))
        )
    finally:
        for engine in engines:
            await engine.dispose()

    assert world.calls() == len(chunks_for(window))
    assert all(set(episode_ids(r)) == expected_episode_ids(world.rig, window) for r in results)


async def test_instances_racing_over_overlapping_windows_call_trakt_once_per_chunk(
    world: World, database_url: str
) -> None:
    """Each request leases all its chunks in one statement; one instance wins some, the other the rest."""
    narrow, wide = world.window(before=10, after=100), world.window(before=40, after=200)
    sources = [SHOWS, MOVIES]
    await world.fault(delay_ms=150)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        first, second = (
            calendar_service(world.rig, world.connections, create_session_factory(e)) for e in engines
        )
        results = await asyncio.gather(
            *(first.entries(world.user_id, sources, narrow) for _ in range(3)),
            *(second.entries(world.user_id, sources, wide) for _ in range(3)),
            first.entries(world.user_id, sources, wide),
        )
    finally:
        for engine in engines:
            await engine.dispose()

    assert world.calls() == len(set(chunks_for(narrow)) | set(chunks_for(wide))) * len(sources)
    assert all(not result.incomplete for result in results)
    assert all(set(episode_ids(r)) == expected_episode_ids(world.rig, narrow) for r in results[:3])
    assert all(set(episode_ids(r)) == expected_episode_ids(world.rig, wide) for r in results[3:])


async def test_a_cold_request_leases_once_and_stores_answers_that_arrive_together_at_once(
    world: World, database_url: str
) -> None:
    """While another writer holds the user's row, every answer queues; they then commit together."""
    window = world.window(before=30, after=335)
    sources = [SHOWS, MOVIES]
    chunk_count = len(chunks_for(window)) * len(sources)
    await world.fault(delay_ms=300)
    engine, blocker = create_engine(database_url), create_engine(database_url)
    leases = statements(engine, "UPDATE calendar_cache SET lease_until")
    stores = statements(engine, "UPDATE users SET data_version")
    try:
        calendar = calendar_service(world.rig, world.connections, create_session_factory(engine))
        request = asyncio.ensure_future(calendar.entries(world.user_id, sources, window))
        await eventually(lambda: leased(world.rig.sessions, chunk_count), "the leases")  # Trakt calls leave
        async with blocker.begin() as connection:  # SQLite: the write lock; PostgreSQL: the user's row
            await connection.execute(update(User).where(User.id == world.user_id).values(data_version=0))
            await eventually(reaches(world.calls, chunk_count), "Trakt's calls")
            # Every answer at the writer (one write blocked on the lock, the rest queued behind it):
            # a fixed pause for the answers' last hop let one arrive after the lock under load.
            await eventually(lambda: calendar._answers.waiting == chunk_count, "answers at the writer")
        result = await request
    finally:
        await engine.dispose()
        await blocker.dispose()

    assert len(leases) == 1
    assert 1 <= len(stores) <= 2  # the answer that met the lock, then everything queued behind it
    assert world.calls() == chunk_count
    assert not result.incomplete
    assert set(episode_ids(result)) == expected_episode_ids(world.rig, window)
    assert await data_version(world.rig.sessions, world.user_id) >= 1
    assert len(await world.rows()) == chunk_count


async def leased(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    async with sessions() as session:
        rows = await session.scalars(select(CalendarChunk).where(CalendarChunk.lease_until.is_not(None)))
        return len(list(rows)) == count


async def test_an_evening_show_in_new_york_belongs_to_the_previous_local_day(world: World) -> None:
    """Harbor Lights airs at 01:00Z: 20:00 (EST) the evening before in New York."""
    episode = next(
        e
        for e in world.rig.sandbox.state.dataset().episodes
        if e.show_trakt == 1 and e.first_aired.hour == 1 and e.first_aired.date() > world.today
    )
    utc_day = episode.first_aired.date()
    local_day = utc_day - timedelta(days=1)

    evening = await world.entries(Window(local_day, local_day, NEW_YORK))
    next_day = await world.entries(Window(utc_day, utc_day, NEW_YORK))
    in_utc = await world.entries(Window(utc_day, utc_day, ZoneInfo("UTC")))

    assert episode.ids.trakt in episode_ids(evening)
    assert episode.ids.trakt not in episode_ids(next_day)
    assert episode.ids.trakt in episode_ids(in_utc)
    first, after = Window(local_day, local_day, NEW_YORK).instants()
    assert all(first <= e.first_aired < after for e in evening.entries if isinstance(e, Episode))


async def test_the_same_episode_from_several_sources_and_chunks_is_one_entry(world: World) -> None:
    window = world.window(before=40, after=120)
    sources = [SOURCES[name] for name in ("shows", "premieres", "finales", "new", "movies", "streaming")]

    result = await world.entries(window, sources)

    ids = episode_ids(result)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_episode_ids(world.rig, window)
    releases = [(e.movie.trakt_id, e.kind) for e in result.entries if isinstance(e, Release)]
    assert len(releases) == len(set(releases))
    assert {kind for _, kind in releases} == {"theatrical", "digital"}
    instants = [e.first_aired for e in result.entries if isinstance(e, Episode)]
    assert instants == sorted(instants)


async def test_unwatched_calendars_are_cached_apart(world: World) -> None:
    window = world.window()
    everything = await world.entries(window)
    unwatched = await world.entries(window, ignore_watched=True)

    assert set(episode_ids(unwatched)) < set(episode_ids(everything))
    assert {row.source for row in await world.rows()} == {"shows", "shows+unwatched"}


# -- upstream trouble --------------------------------------------------------------------------------


async def test_an_outage_serves_the_last_good_data_then_drops_it_after_a_week(world: World) -> None:
    window = world.window()
    good = await world.entries(window)
    fetched_at = world.rig.clock()
    await world.fault(status=503)
    world.rig.clock.advance(TTL.total_seconds() + 1)
    outage_began = world.rig.clock()

    hours: list[CalendarResult] = []
    for _ in range(12):  # six hours of polling every 30 minutes while Trakt is down
        hours.append(await world.entries(window))
        await world.calendar.drain()
        world.rig.clock.advance(minutes=30)

    assert all(result.entries == good.entries and result.stale for result in hours)
    assert hours[0].failing_since is None  # the first failure happens in the background
    failing_since = hours[1].failing_since
    # The client's retry pauses move the shared clock a little before the failure is recorded.
    assert failing_since is not None and outage_began <= failing_since < outage_began + timedelta(seconds=10)
    assert all(result.failing_since == failing_since for result in hours[1:])
    chunk_count = len(chunks_for(window))
    attempts = world.calls() - chunk_count
    assert chunk_count <= attempts < 12 * chunk_count * 3, "backoff should space out the attempts"

    world.rig.clock.set(fetched_at + timedelta(days=7, minutes=1))
    expired = await world.entries(window)
    await world.calendar.drain()

    assert expired.entries == []
    assert expired.incomplete
    assert expired.failing_since == failing_since

    await world.rig.clear_faults()
    world.rig.clock.advance(hours=2)  # past any backoff
    recovered = await world.entries(window)
    assert recovered.entries and not recovered.incomplete and recovered.failing_since is None


async def test_rate_limited_with_retry_after_makes_no_call_before_it(world: World) -> None:
    window = Window(world.today, world.today + timedelta(days=1), ZoneInfo("UTC"))
    assert len(chunks_for(window)) == 1
    await world.fault(status=429, retry_after=120)

    first = await world.entries(window)
    assert first.incomplete and first.entries == []
    assert world.calls() == 1
    await world.rig.clear_faults()

    world.rig.clock.advance(seconds=100)
    assert (await world.entries(window)).incomplete
    assert world.calls() == 1

    world.rig.clock.advance(seconds=21)
    served = await world.entries(window)
    assert world.calls() == 2
    assert served.entries and not served.incomplete


async def test_rate_limited_without_retry_after_backs_off(world: World) -> None:
    window = Window(world.today, world.today + timedelta(days=1), ZoneInfo("UTC"))
    await world.fault(status=429, body="html")  # a Cloudflare block: no Retry-After, no X-Ratelimit

    await world.entries(window)
    async with world.rig.sessions() as session:
        row = await session.scalar(select(CalendarChunk))
    assert row is not None and row.retry_after is not None and row.failed_at is not None
    backoff = row.retry_after - world.rig.clock()
    assert backoff >= timedelta(seconds=10)
    await world.rig.clear_faults()

    world.rig.clock.advance(backoff.total_seconds() - 1)
    await world.entries(window)
    assert world.calls() == 1
    world.rig.clock.advance(seconds=2)
    assert (await world.entries(window)).entries
    assert world.calls() == 2


async def test_outage_backoff_grows_with_the_outage(world: World) -> None:
    window = Window(world.today, world.today + timedelta(days=1), ZoneInfo("UTC"))
    await world.fault(status=503)
    waits: list[timedelta] = []
    for _ in range(4):
        await world.entries(window)
        async with world.rig.sessions() as session:
            row = await session.scalar(select(CalendarChunk))
        assert row is not None and row.retry_after is not None
        waits.append(row.retry_after - world.rig.clock())
        world.rig.clock.set(row.retry_after + timedelta(seconds=1))

    assert waits == sorted(waits) and waits[-1] >= 2 * waits[0]


async def test_a_revoked_grant_serves_cached_data_and_asks_for_reconnect(world: World) -> None:
    window = world.window()
    good = await world.entries(window)
    await world.rig.control("revoke_user", {"slug": "demo"})
    world.rig.clock.advance(TTL.total_seconds() + 1)

    await world.entries(window)
    await world.calendar.drain()
    calls = world.calls()
    answer = await world.entries(window)

    assert answer.needs_reconnect
    assert answer.entries == good.entries
    assert await world.connections.status(world.user_id) == "needs_reconnect"
    assert world.calls() == calls


async def test_a_slow_trakt_cannot_hold_a_request_that_has_data_past_the_budget(world: World) -> None:
    calendar = calendar_service(world.rig, world.connections, wait_budget=0.3)
    cached = world.window(before=7, after=20)
    await calendar.entries(world.user_id, [SHOWS], cached)
    wider = world.window(before=7, after=120)
    await world.fault(delay_ms=1500)
    loop = asyncio.get_running_loop()

    started = loop.time()
    partial = await calendar.entries(world.user_id, [SHOWS], wider)
    elapsed = loop.time() - started

    assert elapsed < 1.0
    assert partial.incomplete and partial.entries
    await calendar.drain()
    complete = await calendar.entries(world.user_id, [SHOWS], wider)
    assert not complete.incomplete
    assert set(episode_ids(complete)) == expected_episode_ids(world.rig, wider)


async def test_a_fetch_gives_up_and_records_its_failure_before_its_lease_lapses(world: World) -> None:
    """Past its lease another process may take the chunk and call Trakt again; a fetch still running
    then would be a second call, and its late failure would be written over the other's fresh answer."""
    lease = timedelta(seconds=1.5)
    calendar = calendar_service(world.rig, world.connections, lease=lease)
    window = world.window(before=0, after=20)
    await calendar.entries(world.user_id, [SHOWS], window)
    world.rig.clock.advance(TTL.total_seconds() + 60)  # stale: refreshed behind the answer
    await world.fault(hang=True)

    assert (await calendar.entries(world.user_id, [SHOWS], window)).stale
    async with asyncio.timeout(lease.total_seconds()):
        await calendar.drain()

    rows = await world.rows()
    assert rows and all(row.failed_at is not None and row.lease_until is None for row in rows)


async def test_data_version_moves_only_when_trakt_content_changes(world: World) -> None:
    window = world.window()
    await world.entries(window)
    version = await data_version(world.rig.sessions, world.user_id)
    assert version >= 1

    world.rig.clock.advance(TTL.total_seconds() + 1)  # same day: the sandbox serves the same data
    await world.entries(window)
    await world.calendar.drain()
    assert await data_version(world.rig.sessions, world.user_id) == version
    assert not (await world.entries(window)).stale

    episode = next(iter(sorted(expected_episode_ids(world.rig, window))))
    await world.rig.control(
        "overrides", {"kind": "episode", "trakt_id": episode, "fields": {"title": "Renamed"}}
    )
    world.rig.clock.advance(TTL.total_seconds() + 1)
    await world.entries(window)
    await world.calendar.drain()

    assert await data_version(world.rig.sessions, world.user_id) == version + 1
    renamed = await world.entries(window)
    assert any(e.title == "Renamed" for e in renamed.entries if isinstance(e, Episode))


async def test_stored_chunks_carry_a_content_hash_and_no_leftover_lease(world: World) -> None:
    await world.entries(world.window())
    rows = await world.rows()
    assert rows and all(row.content_hash and len(row.content_hash) == 64 for row in rows)
    assert all(isinstance(row.expires_at, datetime) and row.lease_until is None for row in rows)
