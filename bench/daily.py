"""Benchmark 8: Trakt calls per active user per day at steady state, on an injected clock.

Why: Trakt allows each user 500 GETs per five minutes and the operator's app is judged by what it
spends; at steady state nearly every call is the refresher renewing a chunk of someone who polls.
One user's feed is polled the way calendar apps poll (Google every 12 hours, Apple every 15 minutes,
Thunderbird every 30 minutes) while the refresher runs every minute, all in this process on a
simulated clock: a day to settle, then a measured day. The baseline is one call per chunk of the
window per TTL; the target is at least 2x fewer, with near-term data (chunks within
`app.feeds.calendar.freshness.NEAR_TERM` of today) never older than the TTL at any poll. The same day
is also run without the refresh plan (every chunk one TTL) to show what the plan saves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.feeds.calendar import Window, chunks_for, freshness
from app.services.container import Services, open_services
from app.store.tables import CalendarChunk
from bench.lab import TYPICAL_FEED, USER_TZ, Deployment, Lab
from bench.procs import BenchError
from bench.report import Result
from bench.sizes import Sizes

CALENDARS = "/calendars/"
STEP = timedelta(minutes=1)  # the refresher's production interval
POLLERS = {
    "Google": timedelta(hours=12),
    "Apple": timedelta(minutes=15),
    "Thunderbird": timedelta(minutes=30),
}
FLUSH = timedelta(seconds=30)  # poll counts are written as often as the app writes them
TARGET = 2.0
_PLANS = (("without the plan", 1), ("with the plan", freshness.FAR_FACTOR))


class SimClock:
    """The injected clock: starts at the real time (the sandbox's tokens are real), moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class _Day:
    calls: int
    polls: int
    oldest_near: timedelta  # the oldest near-term chunk any poll was answered with


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    deployment = await lab.deployment()
    sandbox = await lab.sandbox()
    ttl = timedelta(seconds=deployment.settings.cache_ttl)
    days: dict[str, _Day] = {}
    # The simulated days pass in a few real minutes, and the sandbox keeps Trakt's 500-per-5-minutes
    # window in real time; what is counted here is calls, so its limit is switched off meanwhile.
    await sandbox.configure(enforce_rate_limit=False)
    try:
        for plan, factor in _PLANS:
            days[plan] = await _day(lab, deployment, factor, sizes.daily_hours)
    finally:
        await sandbox.configure(enforce_rate_limit=True)
    chunks = len(TYPICAL_FEED.sources) * len(chunks_for(_window()))
    per_day = 24 / sizes.daily_hours
    baseline = chunks * (timedelta(hours=24) / ttl)
    planned = days["with the plan"]
    measured = planned.calls * per_day
    ratio = baseline / measured if measured else float("inf")
    fresh = all(day.oldest_near <= ttl for day in days.values())
    return [
        Result(
            "8. Trakt calls per active user per day",
            f"{measured:,.0f} calls/day (without plan {days['without the plan'].calls * per_day:,.0f})",
            f"{baseline:,.0f} = {chunks} chunks x 1/TTL",
            ratio,
            f">= {TARGET}x fewer, near-term <= TTL old",
            ratio >= TARGET and fresh,
        )
    ]


async def _day(lab: Lab, deployment: Deployment, factor: int, hours: int) -> _Day:
    """A new user's feed through a settling span and a measured span of `hours` each."""
    sandbox = await lab.sandbox()
    feed = await lab.connect(deployment, f"daily-{factor}", TYPICAL_FEED)
    clock = SimClock()
    with _far_factor(factor):
        async with open_services(deployment.settings, clock=clock) as services:
            await _simulate(services, clock, feed.token, hours)  # settle
            before = await sandbox.count(CALENDARS)
            polls, oldest = await _simulate(services, clock, feed.token, hours)
            calls = await sandbox.count(CALENDARS) - before
    print(
        f"  far-future factor {factor}: {calls} Trakt calls in {hours} h for {polls} polls, "
        f"oldest near-term data served {oldest.total_seconds() / 60:.0f} min"
    )
    return _Day(calls, polls, oldest)


async def _simulate(services: Services, clock: SimClock, token: str, hours: int) -> tuple[int, timedelta]:
    """Run `hours` of polling and refreshing; the polls made and the oldest near-term data served."""
    end = clock.now + timedelta(hours=hours)
    next_poll = dict.fromkeys(POLLERS, clock.now)
    next_flush = clock.now
    polls, oldest = 0, timedelta(0)
    while clock.now < end:
        for client, interval in POLLERS.items():
            if clock.now >= next_poll[client]:
                next_poll[client] = clock.now + interval
                oldest = max(oldest, await _poll(services, token))
                polls += 1
        if clock.now >= next_flush:
            await services.accounts.record_polls(services.feeds.take_polls())
            next_flush = clock.now + FLUSH
        await services.refresher.run_once()
        await services.calendar.drain()
        clock.now += STEP
    return polls, oldest


async def _poll(services: Services, token: str) -> timedelta:
    """One poll through the service; how old the near-term chunks it was answered from were."""
    context = await services.feeds.lookup(token)
    if context is None:
        raise BenchError("the feed token does not resolve")
    services.feeds.count_poll(context.feed_id)
    now = services.clock()
    horizon = now.date() + freshness.NEAR_TERM + timedelta(days=1)
    async with services.sessions() as session:
        fetched = await session.scalars(
            select(CalendarChunk.fetched_at).where(
                CalendarChunk.user_id == context.user_id,
                CalendarChunk.start_date <= horizon,
                CalendarChunk.start_date > now.date() - timedelta(days=33),
            )
        )
        ages = [now - at for at in fetched if at is not None]
    await services.feeds.render(context, services.feeds.options(context, {}))
    await services.calendar.drain()
    return max(ages, default=timedelta(0))


@contextmanager
def _far_factor(factor: int) -> Iterator[None]:
    """The plan's factor for one simulated run in this process (1 = every chunk one TTL)."""
    saved = freshness.FAR_FACTOR
    freshness.FAR_FACTOR = factor
    try:
        yield
    finally:
        freshness.FAR_FACTOR = saved


def _window() -> Window:
    tz = ZoneInfo(USER_TZ)
    today = datetime.now(tz).date()
    days = TYPICAL_FEED
    return Window(today - timedelta(days=days.past_days), today + timedelta(days=days.future_days), tz)
