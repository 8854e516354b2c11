"""Benchmark 4: how many upstream calls polling costs.

Why count rather than time: Trakt allows 500 GETs per five minutes per user and TMDB ~50 per second
per key, shared by every feed of a deployment. Warm polls must cost no upstream call at all, and a
burst of polls of a cold feed (a shared calendar added on many devices at once) exactly one call
per chunk. Counts come from the sandbox's own request log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.feeds.calendar import Window, chunks_for
from app.store.accounts import FeedInfo
from bench.lab import TYPICAL_FEED, USER_TZ, Lab, Sandbox, feed_path
from bench.load import load
from bench.procs import Server
from bench.report import Result
from bench.sizes import Sizes

TRAKT = "/calendars/"
TMDB = "/3/"
HOLD_MS = 100  # keeps the first fetches open until every poll of the burst has arrived


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    deployment = await lab.deployment()
    sandbox = await lab.sandbox()
    warm = await lab.connect(deployment, "economy-warm", TYPICAL_FEED)
    cold = await lab.connect(deployment, "economy-cold", TYPICAL_FEED)
    async with lab.app(deployment, "app-economy") as app:
        return [
            await _warm_polls(app, sandbox, warm, sizes),
            await _cold_burst(app, sandbox, cold, sizes.burst),
        ]


async def _warm_polls(app: Server, sandbox: Sandbox, feed: FeedInfo, sizes: Sizes) -> Result:
    path = feed_path(feed)
    await load(app.url, [path], requests=2, connections=1)  # render once, then one warm answer
    trakt, tmdb = await sandbox.count(TRAKT), await sandbox.count(TMDB)
    await load(app.url, [path], requests=sizes.warm_polls, connections=sizes.connections)
    trakt_calls = await sandbox.count(TRAKT) - trakt
    tmdb_calls = await sandbox.count(TMDB) - tmdb
    calls = trakt_calls + tmdb_calls
    print(f"  {sizes.warm_polls:,} warm polls: {trakt_calls} Trakt calls, {tmdb_calls} TMDB calls")
    return Result(
        name="4. upstream economy, warm polls",
        measured=f"{trakt_calls} Trakt + {tmdb_calls} TMDB",
        baseline=f"{sizes.warm_polls:,} polls",
        ratio=calls / sizes.warm_polls,
        target="0 calls per poll",
        met=calls == 0,
    )


async def _cold_burst(app: Server, sandbox: Sandbox, feed: FeedInfo, burst: int) -> Result:
    window = _window(TYPICAL_FEED.past_days, TYPICAL_FEED.future_days)
    chunks = len(TYPICAL_FEED.sources) * len(chunks_for(window))
    before = len(await sandbox.calls(TRAKT))
    await sandbox.delay(TRAKT, HOLD_MS)
    try:
        await load(app.url, [feed_path(feed)], requests=burst, connections=burst)
    finally:
        await sandbox.clear_faults()
    calls = (await sandbox.calls(TRAKT))[before:]
    distinct = len({(call["path"], call["query"]) for call in calls})
    print(
        f"  {burst} concurrent polls of a cold feed: {len(calls)} Trakt calls, {distinct} distinct, "
        f"{chunks} chunks in the window"
    )
    return Result(
        name="4. upstream economy, cold burst",
        measured=f"{len(calls)} Trakt calls",
        baseline=f"{chunks} chunks, {burst} polls",
        ratio=len(calls) / chunks,
        target="1 call per chunk",
        met=len(calls) == chunks == distinct,
    )


def _window(past_days: int, future_days: int) -> Window:
    """The window the app computes for a feed of the sandbox user (whose zone is USER_TZ)."""
    tz = ZoneInfo(USER_TZ)
    today = datetime.now(tz).date()
    return Window(start=today - timedelta(days=past_days), end=today + timedelta(days=future_days), tz=tz)
