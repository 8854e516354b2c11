"""The background refresher against the sandbox on both databases, including two racing instances."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.feeds.calendar import CHUNK_DAYS, chunks_for
from app.feeds.calendar.freshness import NEAR_TERM
from app.store.engine import create_engine, create_session_factory
from app.store.tables import CalendarChunk
from app.workers.refresher import Refresher
from tests.support.waiting import eventually
from tests.support.world import TTL, World, add_feed, calendar_service

MARGIN = timedelta(minutes=5)
NEAR_DAYS = NEAR_TERM.days


async def expiries(world: World) -> dict[date, datetime]:
    async with world.rig.sessions() as session:
        rows = await session.scalars(select(CalendarChunk))
        return {row.start_date: row.expires_at for row in rows if row.expires_at is not None}


def refresher(world: World) -> Refresher:
    return Refresher(world.rig.sessions, world.calendar, world.rig.clock, margin=MARGIN)


async def cached_window_near_expiry(world: World) -> int:
    """Fill the cache for a polled feed, then move to just inside the refresh margin; returns chunks.

    The window stays within the near term, where every chunk lives one TTL (app.feeds.calendar.freshness)."""
    await add_feed(world.rig, world.user_id, world.rig.clock())
    window = world.window(before=0, after=NEAR_DAYS)
    await world.entries(window)
    world.rig.clock.advance((TTL - MARGIN / 2).total_seconds())
    return len(chunks_for(window))


async def test_chunks_about_to_expire_are_refreshed_once(world: World) -> None:
    chunks = await cached_window_near_expiry(world)
    calls = world.calls()
    before = await expiries(world)

    assert await refresher(world).run_once() == chunks

    assert world.calls() == calls + chunks
    after = await expiries(world)
    assert all(after[start] == world.rig.clock() + TTL > before[start] for start in before)
    assert await refresher(world).run_once() == 0
    assert world.calls() == calls + chunks
    assert not (await world.entries(world.window(before=0, after=NEAR_DAYS))).stale


async def test_shutdown_waits_for_the_refreshes_the_refresher_started(world: World) -> None:
    """The app stops the refresher, then drains the calendar: a refresh already asking Trakt ends and
    stores its answer, instead of being cut off with its lease left held."""
    chunks = await cached_window_near_expiry(world)
    before = await expiries(world)
    calls = world.calls()
    await world.fault(delay_ms=800)
    round_ = asyncio.create_task(refresher(world).run_once())
    await eventually(lambda: world.calls() > calls, "the refreshes asking Trakt")
    round_.cancel()
    await asyncio.gather(round_, return_exceptions=True)

    await world.calendar.drain()

    rows = await world.rows()
    assert len(rows) == chunks and all(row.lease_until is None for row in rows)
    assert all(row.expires_at == world.rig.clock() + TTL > before[row.start_date] for row in rows)


async def test_chunks_far_from_expiry_are_left_alone(world: World) -> None:
    await add_feed(world.rig, world.user_id, world.rig.clock())
    await world.entries(world.window())
    world.rig.clock.advance((TTL - 2 * MARGIN).total_seconds())
    calls = world.calls()

    assert await refresher(world).run_once() == 0
    assert world.calls() == calls


async def test_two_racing_instances_refresh_each_chunk_once(world: World, database_url: str) -> None:
    chunks = await cached_window_near_expiry(world)
    calls = world.calls()
    await world.fault(delay_ms=150)  # keep the refreshes in flight while the other instance looks
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        instances = []
        for engine in engines:
            sessions = create_session_factory(engine)
            calendar = calendar_service(world.rig, world.connections, sessions)
            instances.append(Refresher(sessions, calendar, world.rig.clock, margin=MARGIN))

        counts = await asyncio.gather(*(instance.run_once() for instance in instances))
    finally:
        for engine in engines:
            await engine.dispose()

    assert sum(counts) == chunks
    assert world.calls() == calls + chunks


async def test_users_whose_feeds_are_not_polled_cost_nothing(world: World) -> None:
    await add_feed(world.rig, world.user_id, world.rig.clock() - timedelta(days=15))
    await world.entries(world.window())
    world.rig.clock.advance(TTL.total_seconds())
    calls = world.calls()

    assert await refresher(world).run_once() == 0
    assert world.calls() == calls


async def test_users_who_must_reconnect_are_skipped(world: World) -> None:
    chunks = await cached_window_near_expiry(world)
    assert chunks > 0
    await world.connections.mark_needs_reconnect(world.user_id, "revoked")
    calls = world.calls()

    assert await refresher(world).run_once() == 0
    assert world.calls() == calls


async def test_chunks_wholly_in_the_past_are_left_to_the_feed_requests(world: World) -> None:
    await add_feed(world.rig, world.user_id, world.rig.clock())
    window = world.window(before=80, after=10)
    await world.entries(window)
    world.rig.clock.advance((TTL - MARGIN / 2).total_seconds())
    today = world.rig.clock().date()
    past = [start for start, days in chunks_for(window) if start + timedelta(days=days) <= today]
    assert past
    before = await expiries(world)

    refreshed = await refresher(world).run_once()

    after = await expiries(world)
    assert refreshed == len(chunks_for(window)) - len(past)
    assert all(after[start] == before[start] for start in past)
    assert all(start + timedelta(days=CHUNK_DAYS) > today for start in after if after[start] != before[start])


async def test_run_forever_keeps_going_round_after_round(world: World) -> None:
    chunks = await cached_window_near_expiry(world)
    rounds: list[float] = []

    class Stop(Exception):
        pass

    async def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) == 3:
            raise Stop
        world.rig.clock.advance(seconds)

    calls = world.calls()
    loop = Refresher(world.rig.sessions, world.calendar, world.rig.clock, margin=MARGIN, sleep=sleep)
    with contextlib.suppress(Stop):
        await loop.run_forever(interval=TTL.total_seconds())

    assert rounds == [TTL.total_seconds()] * 3
    assert world.calls() == calls + 3 * chunks  # each round, an hour apart, found every chunk due


async def test_a_failing_round_is_logged_and_the_loop_goes_on(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database without tables: every round fails.
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")
    rounds: list[float] = []

    async def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) == 2:
            raise asyncio.CancelledError  # how the app's lifespan stops the loop

    loop = Refresher(create_session_factory(broken), world.calendar, world.rig.clock, sleep=sleep)
    try:
        with pytest.raises(asyncio.CancelledError):
            await loop.run_forever(interval=1.0)
    finally:
        await broken.dispose()

    assert rounds == [1.0, 1.0]
    assert [r.message for r in caplog.records if r.name == "app.workers.refresher"] == [
        "refresher round failed"
    ] * 2
