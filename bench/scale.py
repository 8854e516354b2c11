"""Benchmark 6: warm latency and memory with 10, 10,000 and 100,000 feeds (of 20,000 users) stored.

Why: the warm path is a feed-row memory hit (or one indexed read) plus a rendered-feed memory hit, so
neither its latency nor the process's memory should grow with the number of feeds stored, only with
the number being polled (and both memories have entry limits). Each size gets its own database copy
and app process, all running at once and measured in interleaved rounds, so load from anything else
on the machine falls on every size alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from app.feeds.memory import MEMORY_BYTES, MEMORY_ENTRIES
from app.services.container import open_services
from bench.lab import TYPICAL_FEED, Deployment, Lab
from bench.load import LoadResult, load
from bench.report import Result, millis
from bench.seed import Seeder
from bench.sizes import Sizes

SAMPLE = 10  # feeds polled at every size (the smallest size has no more)
FEEDS_PER_USER = 5  # 100,000 feeds of 20,000 users
ROUNDS = 5
TARGET = 1.5


@dataclass(frozen=True, slots=True)
class _Size:
    feeds: int
    run: LoadResult
    idle_kib: int
    half_kib: int  # with the first half of the sample rendered
    warm_kib: int

    @property
    def per_feed_kib(self) -> float:
        """Growth per rendered feed, from the second half only: the first renders of a process also
        pay one-time costs (compiled queries, time zone data) that are not per feed."""
        return (self.warm_kib - self.half_kib) / (SAMPLE - SAMPLE // 2)

    def describe(self) -> str:
        return (
            f"{self.feeds:,} feeds: p50 {millis(self.run.p50)}, p99 {millis(self.run.percentile(0.99))}, "
            f"RSS {_mib(self.idle_kib)} idle -> {_mib(self.warm_kib)} with {SAMPLE} feeds warm"
        )


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    deployments, tokens = await _databases(lab, sizes.feed_counts)
    paths = [f"/feeds/{token}.ics" for token in tokens]
    async with AsyncExitStack() as stack:
        apps = [
            await stack.enter_async_context(lab.app(deployment, f"app-{feeds}"))
            for feeds, deployment in deployments
        ]
        idle = [app.rss_kib() for app in apps]
        half = []
        for app in apps:  # one render of each sampled feed, the RSS noted halfway
            await load(app.url, paths[: SAMPLE // 2], requests=SAMPLE // 2, connections=1)
            half.append(app.rss_kib())
            await load(app.url, paths[SAMPLE // 2 :], requests=SAMPLE - SAMPLE // 2, connections=1)
        runs: list[list[LoadResult]] = [[] for _ in apps]
        for _ in range(ROUNDS):
            for app, app_runs in zip(apps, runs, strict=True):
                app_runs.append(
                    await load(app.url, paths, requests=sizes.scale_requests // ROUNDS, connections=1)
                )
        measured = [
            _Size(feeds, LoadResult.combined(app_runs), idle_kib, half_kib, app.rss_kib())
            for (feeds, _), app, app_runs, idle_kib, half_kib in zip(
                deployments, apps, runs, idle, half, strict=True
            )
        ]
    for size in measured:
        print(f"  {size.describe()}")
    small, large = measured[0], measured[-1]
    per_feed = large.per_feed_kib
    entries, estimate = MEMORY_ENTRIES, MEMORY_BYTES
    full = min(entries * per_feed, estimate / 1024)
    print(
        f"  each warm feed adds about {per_feed:,.0f} KiB; the rendered-feed cache keeps at most "
        f"{entries:,} entries within an estimated {_mib(estimate / 1024)}, so about "
        f"{_mib(large.idle_kib + full)} when full"
    )
    latency = large.run.p50 / small.run.p50
    large_p99, small_p99 = large.run.percentile(0.99), small.run.percentile(0.99)
    tail = large_p99 / small_p99
    memory = large.warm_kib / small.warm_kib
    at, target = f"at {large.feeds:,} feeds", f"<= {TARGET}x"
    return [
        Result(
            f"6. scale, warm p50 {at}",
            f"p50 {millis(large.run.p50)}",
            f"p50 {millis(small.run.p50)} at {small.feeds:,}",
            latency,
            target,
            latency <= TARGET,
        ),
        Result(
            f"6. scale, warm p99 {at}",
            f"p99 {millis(large_p99)}",
            f"p99 {millis(small_p99)} at {small.feeds:,}",
            tail,
            target,
            tail <= TARGET,
        ),
        Result(
            f"6. scale, RSS {at}",
            _mib(large.warm_kib),
            f"{_mib(small.warm_kib)} at {small.feeds:,}",
            memory,
            target,
            memory <= TARGET,
        ),
    ]


async def _databases(lab: Lab, counts: Sequence[int]) -> tuple[list[tuple[int, Deployment]], list[str]]:
    """One database copy per feed count, grown from one signed-in user; the sampled feed tokens."""
    deployment = await lab.deployment()
    template = await lab.connect(deployment, "scale-template", TYPICAL_FEED)
    snapshots: list[tuple[int, Deployment]] = []
    async with open_services(deployment.settings) as services:
        seeder = await Seeder.of_rendered(services, template)
        for feeds in counts:
            await seeder.grow_to(feeds, SAMPLE, feeds_per_user=FEEDS_PER_USER)
            snapshots.append((feeds, await lab.snapshot(deployment, f"scale-{feeds}")))
    return snapshots, seeder.sampled_tokens


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"
