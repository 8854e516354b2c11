"""Faults suite, rate limits: a 429 holds every path of that user until the time Trakt named, on every
instance; the GET budget holds across instances. Other users are never affected.

Calls are counted per user from the sandbox's call log (each call carries the slug of its bearer
token); time moves with the shared fake clock. Figures are printed (run with `-s` to see them).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from app.core.errors import RateLimited
from app.domain.sources import SOURCES
from app.feeds.calendar import Window, chunks_for
from app.feeds.calendar.freshness import FAR_FACTOR
from app.store.engine import create_engine, create_session_factory
from app.store.ratelimits import TraktLimits
from app.store.tables import TraktConnection, TraktLimit, User
from app.upstream.http import MAX_RETRY_AFTER, RATE_LIMIT_BACKOFF_BASE, retry_after_seconds
from app.web.app import create_app
from app.workers.refresher import Refresher
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import DEFAULT_NOW, RunningSandbox
from tests.support.server import serve
from tests.support.waiting import eventually
from tests.support.world import SHOWS, TTL, World, add_feed, calendar_service

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
    # Past every chunk's lifetime, far ones included (app.feeds.calendar.freshness gives those several TTLs).
    world.rig.clock.advance(FAR_FACTOR * TTL.total_seconds() + 1)
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
        not_before: datetime | None = await session.scalar(select(TraktLimit.not_before))
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


async def test_a_429_heard_while_a_paid_for_call_waits_stops_that_call(world: World) -> None:
    """A chunk's first call is paid for with its lease, but may wait after that (here a token refresh
    of 1.5 s) while another instance hears a 429 for the same user: the call must not go out then."""
    rig = world.rig
    await rig.control("config", {"access_token_ttl": 1800})  # within the refresh margin: refreshed first
    user_id, _ = await rig.connected_user(world.connections, "waiting")
    elsewhere = calendar_service(rig, rig.connections())
    window = world.window(before=0, after=10)
    await rig.control("faults", {"prefix": "/oauth/token", "delay_ms": 1500, "times": 1})
    await rig.control("faults", {"prefix": "/calendars/my/movies", "status": 429, "retry_after": 120})
    waiting = asyncio.ensure_future(world.calendar.entries(user_id, [SHOWS], window))

    async def refreshing() -> bool:
        async with rig.sessions() as session:
            lease = select(TraktConnection.lease_until).where(TraktConnection.user_id == user_id)
            return await session.scalar(lease) is not None

    await eventually(refreshing, "the token refresh under way")
    await elsewhere.entries(user_id, [SOURCES["movies"]], window)  # hears the 429
    assert await TraktLimits(rig.sessions, rig.clock).held(user_id)

    await waiting
    paths = [call.path for call in rig.sandbox.state.calls if call.path.startswith("/calendars/my/")]
    first_429 = next(n for n, path in enumerate(paths) if path.startswith("/calendars/my/movies"))
    assert not any(path.startswith("/calendars/my/shows") for path in paths[first_429:])  # held since


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
        ("1e12", MAX_RETRY_AFTER),  # absurd: a day, never an overflow or years of silence
        ("inf", MAX_RETRY_AFTER),
        ("nan", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
        ("soon", None),
        ("Wed, 99 Nov 2026 12:01:30 GMT", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": header}), DEFAULT_NOW) == seconds


# -- two instances ------------------------------------------------------------------------------

LIMIT = 20  # a small budget, so a test spends it in a few dozen calls
WINDOW = timedelta(minutes=5)


def busiest_span(moments: list[datetime], span: timedelta = WINDOW) -> int:
    """The most calls in any `span` (5 minutes) of the log: what Trakt's limit is measured on."""
    ordered = sorted(moments)
    return max((bisect.bisect_left(ordered, start + span) - i for i, start in enumerate(ordered)), default=0)


async def test_the_budget_holds_across_two_instances_in_every_five_minutes(
    world: World, database_url: str
) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        instances = [
            TraktLimits(create_session_factory(engine), world.rig.clock, limit=LIMIT, window=WINDOW)
            for engine in engines
        ]
        token = await world.connections.access_token(world.user_id)
        trakt = world.rig.trakt()

        async def attempt(limits: TraktLimits) -> bool:
            try:
                await trakt.user_settings(token, gate=limits.gate(world.user_id))
            except RateLimited:
                return False
            return True

        burst = await asyncio.gather(*(attempt(instances[i % 2]) for i in range(3 * LIMIT)))
        assert sum(burst) == LIMIT, "a burst from two instances at one instant spends exactly the budget"
        admitted = sum(burst)
        attempts = 3 * LIMIT
        for _ in range(130):  # 21:40 simulated minutes, an attempt every 10 s from each instance
            world.rig.clock.advance(10)
            for limits in instances:
                admitted += await attempt(limits)
                attempts += 1
        world.rig.clock.advance(2 * WINDOW.total_seconds())
        started = time.perf_counter()
        for _ in range(LIMIT):
            await instances[0].admit(world.user_id)
        per_spend = (time.perf_counter() - started) / LIMIT
        sessions, started = create_session_factory(engines[0]), time.perf_counter()
        for _ in range(LIMIT):  # the baseline: the cheapest write transaction on this database
            async with sessions.begin() as session:
                await session.execute(update(User).where(User.id == world.user_id).values(data_version=1))
        per_write = (time.perf_counter() - started) / LIMIT
    finally:
        for engine in engines:
            await engine.dispose()

    moments = [call.at for call in world.rig.sandbox.state.calls if call.path == "/users/settings"]
    assert len(moments) == admitted
    assert busiest_span(moments) <= LIMIT
    # A full budget comes back every two windows: the burst at 0, then at 10 and at 20 minutes.
    assert admitted == 3 * LIMIT
    figure(
        f"budget {LIMIT} per 5 min, two instances, {attempts} attempts over 21 min: {admitted} calls, "
        f"at most {busiest_span(moments)} in any 5 min; a spend costs {per_spend * 1000:.1f} ms, "
        f"a one-row write {per_write * 1000:.1f} ms ({world.rig.database_url.split(':')[0]})"
    )


def test_two_app_instances_both_hold_a_user_after_one_heard_a_429(
    running_app: RunningApp, sandbox: RunningSandbox
) -> None:
    """Over HTTP: instance A hears the 429; A and B then serve from cache and call nothing."""
    token = running_app.connect().token
    app = create_app(running_app.settings, clock=sandbox.clock, background=False)
    with serve(app) as other_url:
        first, second = (f"{url}/feeds/{token}.ics" for url in (running_app.url, other_url))
        calendar = httpx.get(first)
        assert calendar.status_code == 200
        sandbox.clock.advance(TTL.total_seconds() + 60)
        fault_switch = {"prefix": "/calendars", "status": 429, "retry_after": 600, "user": "demo"}
        assert httpx.post(f"{sandbox.url}/_sandbox/faults", json=fault_switch).status_code == 200
        assert httpx.get(first).content == calendar.content  # stale; its refreshes behind meet the 429
        limited = settled(sandbox)
        limited_at = sandbox.clock()

        new_feeds = 0
        for offset in (0, 300, 599):
            sandbox.clock.set(limited_at + timedelta(seconds=offset))
            for url in (first, second):
                assert httpx.get(url).status_code == 200  # the stale calendar, from either instance
                fresh = httpx.get(url, params={"hide_watched": "true"})  # other chunks: nothing cached
                assert fresh.status_code == 503 and "Retry-After" in fresh.headers
                new_feeds += 1
            assert settled(sandbox) == limited, f"a call {offset} s into a 600 s Retry-After"

        httpx.delete(f"{sandbox.url}/_sandbox/faults")
        sandbox.clock.set(limited_at + timedelta(seconds=600))
        assert httpx.get(second, params={"hide_watched": "true"}).status_code == 200
        resumed = settled(sandbox) - limited
        assert resumed > 0
    figure(
        f"two instances, 429 Retry-After 600 s heard by one: 0 calls in 600 s from either "
        f"(6 polls of a stale feed served 200, {new_feeds} polls of a feed with nothing cached "
        f"served 503 + Retry-After); {resumed} calls when the time came"
    )


def settled(sandbox: RunningSandbox, quiet: float = 0.5) -> int:
    """The user's call count once the app's background calls have stopped arriving."""
    seen, since = sandbox.state.count("/", "demo"), time.monotonic()
    deadline = since + 20
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "background calls to Trakt did not settle"
        time.sleep(0.05)
        now = sandbox.state.count("/", "demo")
        if now != seen:
            seen, since = now, time.monotonic()
    return seen


async def test_a_short_retry_after_waited_out_inline_is_still_shared_and_every_attempt_spent(
    world: World,
) -> None:
    await world.fault(status=429, retry_after=1, user="demo", times=1)
    started = world.rig.clock()
    result = await world.entries(Window(world.today, world.today, ZoneInfo("UTC")))

    assert result.entries and not result.incomplete  # waited 1 s inside the request, then answered
    async with world.rig.sessions() as session:
        row = (await session.execute(select(TraktLimit))).scalar_one()
    assert row.not_before == started + timedelta(seconds=1)  # other processes heard it too
    assert row.window_calls == calls_of(world, "demo") == 2  # the retry spent budget as well
