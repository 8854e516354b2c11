"""Faults suite, rate limits: a 429 holds every path of that user until the time Trakt named, on every
instance; the GET budget holds across instances. Other users are never affected.

Calls are counted per user from the sandbox's call log (each call carries the slug of its bearer
token); time moves with the shared fake clock. Figures are printed (run with `-s` to see them).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from app.calendar import Window, chunks_for
from app.models import TraktLimit
from app.ratelimits import TraktLimits
from app.refresher import Refresher
from app.upstream import RATE_LIMIT_BACKOFF_BASE, RateLimited, retry_after_seconds
from tests.fixtures.sandbox import DEFAULT_NOW
from tests.support.world import SHOWS, TTL, World, add_feed

RETRY_AFTER = 30


def calls_of(world: World, user: str) -> int:
    """Every Trakt API call made with `user`'s token, whichever path made it."""
    return world.rig.sandbox.state.count("/", user)


def figure(line: str) -> None:
    print(f"[rate limits] {line}")


async def stale_cache_of_two_users(world: World) -> tuple[int, Window]:
    """demo and other, each with a polled feed and a cached multi-chunk window gone stale."""
    other, _ = await world.rig.connected_user(world.connections, "other")
    window = world.window(before=0, after=60)
    assert len(chunks_for(window)) >= 2
    for user_id in (world.user_id, other):
        await add_feed(world.rig, user_id, world.rig.clock())
        await world.calendar.entries(user_id, [SHOWS], window)
    world.rig.clock.advance(TTL.total_seconds() + 1)
    return other, window


async def every_path(world: World, users: list[int], window: Window) -> None:
    """What can call Trakt on a user's behalf: the refresher, feed polls with their stale refreshes,
    and a check of the user's settings (`airdate doctor`) through limits of another process."""
    await Refresher(world.rig.sessions, world.calendar, world.rig.clock).run_once()
    elsewhere = TraktLimits(world.rig.sessions, world.rig.clock)
    for user_id in users:
        await world.calendar.entries(user_id, [SHOWS], window)
        token = await world.connections.access_token(user_id)
        with contextlib.suppress(RateLimited):
            await world.rig.trakt().user_settings(token, gate=elsewhere.gate(user_id))
    await world.calendar.drain()


async def test_a_429_holds_every_path_of_that_user_until_retry_after(world: World) -> None:
    other, window = await stale_cache_of_two_users(world)
    await world.fault(status=429, retry_after=RETRY_AFTER, user="demo", times=1)
    one_chunk = Window(world.today, world.today, ZoneInfo("UTC"))
    await world.entries(one_chunk)  # stale: its refresh behind the answer meets the 429
    await world.calendar.drain()
    limited_at = world.rig.clock()
    demo_calls, other_calls = calls_of(world, "demo"), calls_of(world, "other")

    for offset in (0, 10, RETRY_AFTER - 1):
        world.rig.clock.set(limited_at + timedelta(seconds=offset))
        await every_path(world, [world.user_id, other], window)
        assert calls_of(world, "demo") == demo_calls, f"a call {offset} s into a {RETRY_AFTER} s Retry-After"
    assert calls_of(world, "other") > other_calls, "another user's refreshes go on"

    world.rig.clock.set(limited_at + timedelta(seconds=RETRY_AFTER))
    await every_path(world, [world.user_id], window)
    resumed = calls_of(world, "demo") - demo_calls
    assert resumed == len(chunks_for(window)) + 1  # every chunk, and the settings check
    figure(
        f"429 Retry-After {RETRY_AFTER} s: 0 calls for that user in {RETRY_AFTER} s over 3 rounds of "
        f"every path; {calls_of(world, 'other') - other_calls} calls for another user meanwhile; "
        f"{resumed} calls once the time named had come"
    )



async def held_for(world: World, **fault: object) -> timedelta:
    """Make one stale chunk's refresh meet `fault`; return how long the user is then held."""
    one_chunk = Window(world.today, world.today, ZoneInfo("UTC"))
    await world.entries(one_chunk)
    world.rig.clock.advance(TTL.total_seconds() + 1)
    await world.fault(status=429, user="demo", times=1, **fault)
    await world.entries(one_chunk)
    await world.calendar.drain()
    async with world.rig.sessions() as session:
        not_before = await session.scalar(select(TraktLimit.not_before))
    assert not_before is not None
    return not_before - world.rig.clock()


async def assert_no_call_before(world: World, wait: timedelta) -> None:
    """Nothing reaches Trakt for demo until `wait` has passed; then the refreshes go out again."""
    window = world.window(before=0, after=60)
    start, calls = world.rig.clock(), calls_of(world, "demo")
    world.rig.clock.set(start + wait - timedelta(seconds=1))
    await every_path(world, [world.user_id], window)
    assert calls_of(world, "demo") == calls
    world.rig.clock.set(start + wait)
    await every_path(world, [world.user_id], window)
    assert calls_of(world, "demo") > calls


async def test_a_429_without_retry_after_holds_the_user_for_the_backoff(world: World) -> None:
    await add_feed(world.rig, world.user_id, world.rig.clock())
    wait = await held_for(world, body="html")  # a Cloudflare block: neither Retry-After nor X-Ratelimit
    assert wait == timedelta(seconds=RATE_LIMIT_BACKOFF_BASE * 1.5)  # first step, jitter rng() = 0.5
    await assert_no_call_before(world, wait)
    figure(f"429 without Retry-After: the user is held {wait.total_seconds():.0f} s (jittered backoff)")


async def test_a_retry_after_date_holds_the_user_until_that_date(world: World) -> None:
    await add_feed(world.rig, world.user_id, world.rig.clock())
    wait = await held_for(world, retry_after=90, retry_after_date=True)
    assert wait == timedelta(seconds=90)
    await assert_no_call_before(world, wait)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Wed, 25 Nov 2026 12:01:30 GMT", 90.0),
        ("Wed, 25 Nov 2026 12:01:30 -0000", 90.0),
        ("Wed, 25 Nov 2026 11:00:00 GMT", 0.0),  # already past: call when you like
        ("-5", None),
        ("soon", None),
        ("Wed, 99 Nov 2026 12:01:30 GMT", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": header}), DEFAULT_NOW) == seconds
