"""Benchmarks 1 and 2: a warm feed, and its revalidation, against a bare app holding the bytes.

Why these two: calendar apps poll the same URL every few minutes forever, so the warm 200 and the
If-None-Match 304 are nearly all the traffic a deployment sees. The target is to stay within 80% of
what Starlette itself manages on the same uvicorn when it does no work at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import httpx
from sqlalchemy import text

from app.container import open_services
from app.options import FeedOptions
from bench.lab import TYPICAL_FEED, Deployment, Lab, feed_path
from bench.load import LoadResult, load
from bench.procs import BenchError, Server, uvicorn_server
from bench.profile import recording
from bench.report import Result, millis, rate
from bench.sizes import Sizes
from bench.targets import BODY_FILE, HEADERS_FILE

TARGET = 0.8
COPIED_HEADERS = ("ETag", "Last-Modified", "Cache-Control", "Vary")


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    deployment = await lab.deployment()
    feed = await lab.connect(deployment, "warm", TYPICAL_FEED)
    path = feed_path(feed)
    async with lab.app(deployment) as app:
        body, headers = await _first_answer(app.url + path)
        events = body.count(b"BEGIN:VEVENT")
        print(f"  feed: {events} events, {len(body):,} bytes, options {_shown(TYPICAL_FEED)}")
        (lab.workdir / "feed.ics").write_bytes(body)
        (lab.workdir / "headers.json").write_text(json.dumps(headers))
        env = {BODY_FILE: str(lab.workdir / "feed.ics"), HEADERS_FILE: str(lab.workdir / "headers.json")}
        async with uvicorn_server("bare", "bench.targets:bare", env, lab.workdir) as bare:
            if (await _first_answer(bare.url + path))[0] != body:
                raise BenchError("the bare app does not serve the app's bytes")
            results = []
            if 1 in selected:
                name = "1. warm feed throughput"
                results.append(await _compare(name, app, bare, path, {}, 200, sizes, _svg(lab, "warm-200")))
            if 2 in selected:
                revalidate = {"If-None-Match": headers["ETag"]}
                name = "2. revalidation (304)"
                results.append(
                    await _compare(name, app, bare, path, revalidate, 304, sizes, _svg(lab, "warm-304"))
                )
        await _attribute(deployment, feed.token, calls=sizes.throughput_requests // 3)
        return results


async def _attribute(deployment: Deployment, token: str, calls: int) -> None:
    """Time the warm path's steps in this process, so the table's ratio comes with its cause."""
    async with open_services(deployment.settings) as services:
        context = await services.feeds.lookup(token)
        if context is None:
            raise BenchError("the feed token does not resolve")
        options = services.feeds.options(context, {})
        await services.feeds.render(context, options)

        async def select_one() -> None:
            async with services.sessions() as session:
                await session.execute(text("SELECT 1"))

        async def lookup() -> None:
            await services.feeds.lookup(token)

        async def memory_hit() -> None:
            await services.feeds.render(context, options)

        steps = {
            "token lookup": await _micros(lookup, calls),
            "a bare SELECT 1 session (floor of any read)": await _micros(select_one, calls),
            "memory-cache hit": await _micros(memory_hit, calls),
        }
    shown = ", ".join(f"{label} {micros:,.0f} µs" for label, micros in steps.items())
    print(f"  warm path steps, one at a time in this process: {shown}")


async def _micros(step: Callable[[], Awaitable[None]], calls: int) -> float:
    for _ in range(calls // 10):  # warm-up: pool connections, compiled statement cache
        await step()
    started = time.perf_counter()
    for _ in range(calls):
        await step()
    return (time.perf_counter() - started) / calls * 1e6


async def _first_answer(url: str) -> tuple[bytes, dict[str, str]]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.get(url, headers={"Accept-Encoding": "identity"})
    if response.status_code != 200:
        raise BenchError(f"GET feed: {response.status_code} {response.text[:200]}")
    return response.content, {name: response.headers[name] for name in COPIED_HEADERS}


async def _compare(
    name: str,
    app: Server,
    bare: Server,
    path: str,
    headers: Mapping[str, str],
    expect: int,
    sizes: Sizes,
    profile: Path | None,
) -> Result:
    """Alternate app and bare rounds (so drift hits both alike); the best round of each side counts."""
    app_runs: list[LoadResult] = []
    bare_runs: list[LoadResult] = []
    for server in (app, bare):  # warm-up: connections, caches, the interpreter's first calls
        await load(server.url, [path], requests=sizes.connections * 20, connections=sizes.connections,
                   headers=headers, expect=expect)
    for round_number in range(sizes.throughput_rounds):
        async with recording(app.pid, profile if round_number == 0 else None):
            app_runs.append(await load(app.url, [path], requests=sizes.throughput_requests,
                                       connections=sizes.connections, headers=headers, expect=expect))
        bare_runs.append(await load(bare.url, [path], requests=sizes.throughput_requests,
                                    connections=sizes.connections, headers=headers, expect=expect))
    best_app = max(app_runs, key=lambda run: run.per_second)
    best_bare = max(bare_runs, key=lambda run: run.per_second)
    ratio = best_app.per_second / best_bare.per_second
    for label, run in (("app", best_app), ("bare", best_bare)):
        print(f"  {name}: {label} {rate(run.requests, run.seconds, 'req')}, p50 {millis(run.p50)}, "
              f"p95 {millis(run.p95)} over {sizes.connections} connections")
    return Result(
        name=name,
        measured=f"{rate(best_app.requests, best_app.seconds, 'req')} app",
        baseline=f"{rate(best_bare.requests, best_bare.seconds, 'req')} bare",
        ratio=ratio,
        target=f">= {TARGET} of bare",
        met=ratio >= TARGET,
    )


def _svg(lab: Lab, name: str) -> Path | None:
    return None if lab.profile_dir is None else lab.profile_dir / f"{name}.svg"


def _shown(options: FeedOptions) -> str:
    sources = ",".join(options.sources)
    return f"sources={sources} past_days={options.past_days} future_days={options.future_days}"
