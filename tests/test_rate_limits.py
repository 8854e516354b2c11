"""Faults suite, rate limits: a 429 holds every path of that user until the time Trakt named, on every
instance; the GET budget holds across instances. Other users are never affected.

Calls are counted per user from the sandbox's call log (each call carries the slug of its bearer
token); time moves with the shared fake clock. Figures are printed (run with `-s` to see them).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.calendar import Window, chunks_for
from app.refresher import Refresher
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
    """What can call Trakt on a user's behalf: the refresher, and feed polls with their stale refreshes."""
    await Refresher(world.rig.sessions, world.calendar, world.rig.clock).run_once()
    for user_id in users:
        await world.calendar.entries(user_id, [SHOWS], window)
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
    assert resumed == len(chunks_for(window))
    figure(
        f"429 Retry-After {RETRY_AFTER} s: 0 calls for that user in {RETRY_AFTER} s over 3 rounds of "
        f"every path; {calls_of(world, 'other') - other_calls} calls for another user meanwhile; "
        f"{resumed} calls once the time named had come"
    )

