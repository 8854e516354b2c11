"""Benchmark 3: a cold year-long feed while every Trakt calendar call takes 150 ms.

Why: a new subscriber's first poll must fetch about two dozen 33-day chunks. Calendar apps give up
on slow feeds, so the chunks must be fetched side by side: the target is the time of three calls,
against the same fetches made one after another with the same Trakt client, measured here too.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx

from app.domain.options import FeedOptions
from app.domain.sources import SOURCES, Source
from app.services.container import open_services
from bench.lab import Deployment, Lab, feed_path
from bench.procs import BenchError
from bench.report import Result, millis
from bench.sizes import Sizes

DELAY_MS = 150
TARGET_SECONDS = 3 * DELAY_MS / 1000
YEAR = FeedOptions(past_days=0, future_days=365)
WARM_UP = FeedOptions(past_days=0, future_days=1)
CALENDARS = "/calendars/my/"


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    deployment = await lab.deployment()
    sandbox = await lab.sandbox()
    warm_up = await lab.connect(deployment, "cold-warm-up", WARM_UP)
    feeds = [await lab.connect(deployment, f"cold-{n}", YEAR) for n in range(sizes.cold_repeats)]
    timings: list[float] = []
    async with lab.app(deployment, "app-cold") as app, httpx.AsyncClient(timeout=60.0) as client:
        await _get(client, app.url + feed_path(warm_up))  # first-request costs of the process
        await sandbox.delay("/calendars", DELAY_MS)
        try:
            for feed in feeds:
                before = len(await sandbox.calls(CALENDARS))
                started = time.perf_counter()
                await _get(client, app.url + feed_path(feed))
                timings.append(time.perf_counter() - started)
                fetched = (await sandbox.calls(CALENDARS))[before:]
                print(
                    f"  cold feed: {millis(timings[-1])}, {len(fetched)} Trakt calendar calls, "
                    f"arriving over {millis(_spread(fetched))} (0 ms if all left at once)"
                )
            sequential = await _sequential(deployment, feeds[0].user_id, fetched)
        finally:
            await sandbox.clear_faults()
    cold = statistics.median(timings)
    print(f"  the same {len(fetched)} calls one after another with the Trakt client: {millis(sequential)}")
    return [
        Result(
            name=f"3. cold feed, Trakt +{DELAY_MS} ms",
            measured=f"{millis(cold)} ({len(fetched)} chunks)",
            baseline=f"{millis(sequential)} sequential",
            ratio=cold / sequential,
            target=f"< {millis(TARGET_SECONDS)}",
            met=cold < TARGET_SECONDS,
        )
    ]


async def _get(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    if response.status_code != 200:
        raise BenchError(f"GET feed: {response.status_code} {response.text[:200]}")


async def _sequential(deployment: Deployment, user_id: int, calls: Sequence[dict[str, Any]]) -> float:
    """Replay the app's chunk fetches in order, each awaited before the next, as a naive proxy would."""
    chunks = [_chunk(call) for call in calls]
    async with open_services(deployment.settings) as services:
        token = await services.connections.access_token(user_id)
        started = time.perf_counter()
        for source, start, days, ignore_watched in chunks:
            await services.trakt.calendar(
                token, source, start, days, gate=services.limits.gate(user_id), ignore_watched=ignore_watched
            )
        return time.perf_counter() - started


def _spread(calls: Sequence[dict[str, Any]]) -> float:
    """Seconds between the first and the last call's arrival at the sandbox."""
    arrivals = [datetime.fromisoformat(call["at"]) for call in calls]
    return (max(arrivals) - min(arrivals)).total_seconds() if arrivals else 0.0


def _chunk(call: dict[str, Any]) -> tuple[Source, date, int, bool]:
    """(source, start, days, ignore_watched) of a logged `/calendars/my/<path>/<start>/<days>` call."""
    prefix, start, days = str(call["path"]).rsplit("/", 2)
    trakt_path = prefix.removeprefix(CALENDARS)
    source = next((s for s in SOURCES.values() if s.trakt_path == trakt_path), None)
    if source is None:
        raise BenchError(f"unexpected calendar call {call['path']}")
    return source, date.fromisoformat(start), int(days), "ignore_watched=true" in str(call["query"])
