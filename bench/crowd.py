"""Benchmark 7: warm latency p99 while 200 keep-alive clients poll 1,000 different feeds at once.

Why: a deployment's traffic is many calendar apps each holding a connection and each polling its own
feed, not four connections hammering one URL. Every feed must stay warm (its row and its rendering
in memory), and the slowest answers must not grow with the crowd more than a bare server's do. The
feeds span 30 days (about 25 events, 20 KB) so that 1,000 renderings fit the rendered-feed memory's
default limits; 1,000 typical half-year feeds (400 KiB each in memory) would not, by design.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.options import FeedOptions
from app.services.container import open_services
from bench.lab import Lab
from bench.load import LoadResult, load
from bench.procs import BenchError
from bench.report import Result, millis
from bench.seed import Seeder
from bench.sizes import Sizes
from bench.warm import bare_server, first_answer

MONTH_FEED = FeedOptions(past_days=3, future_days=30)
FEEDS_PER_USER = 5
ROUNDS = 3
TARGET = 1.25  # app p99 within 1.25x the bare app's p99 under the same crowd (the inverse of 0.8)


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    deployment = await lab.deployment()
    template = await lab.connect(deployment, "crowd", MONTH_FEED)
    async with open_services(deployment.settings) as services:
        seeder = await Seeder.of_rendered(services, template)
        await seeder.grow_to(sizes.crowd_feeds, sizes.crowd_feeds, feeds_per_user=FEEDS_PER_USER)
    paths = [f"/feeds/{token}.ics" for token in seeder.sampled_tokens][: sizes.crowd_feeds]
    if len(paths) != sizes.crowd_feeds:
        raise BenchError(f"seeded {len(paths)} feeds, wanted {sizes.crowd_feeds}")
    async with lab.app(deployment, "app-crowd") as app:
        body, headers = await first_answer(app.url + paths[0])
        await load(app.url, paths, requests=len(paths), connections=4)  # one rendering per feed
        async with bare_server(lab, paths[0], body, headers) as bare:
            app_runs: list[LoadResult] = []
            bare_runs: list[LoadResult] = []
            for _ in range(ROUNDS):
                for server, runs in ((app, app_runs), (bare, bare_runs)):
                    runs.append(
                        await load(
                            server.url, paths, requests=sizes.crowd_requests, connections=sizes.crowd_clients
                        )
                    )
    app_run, bare_run = LoadResult.combined(app_runs), LoadResult.combined(bare_runs)
    app_p99, bare_p99 = app_run.percentile(0.99), bare_run.percentile(0.99)
    for label, run_ in (("app", app_run), ("bare", bare_run)):
        print(
            f"  {label}: p50 {millis(run_.p50)}, p99 {millis(run_.percentile(0.99))}, "
            f"{run_.per_second:,.0f} req/s, {sizes.crowd_clients} clients over {len(paths):,} feeds"
        )
    ratio = app_p99 / bare_p99
    return [
        Result(
            f"7. crowd, warm p99 of {sizes.crowd_clients} clients x {len(paths):,} feeds",
            f"p99 {millis(app_p99)}, p50 {millis(app_run.p50)}",
            f"p99 {millis(bare_p99)} bare",
            ratio,
            f"<= {TARGET}x bare",
            ratio <= TARGET,
        )
    ]
