"""Benchmarks 1 and 2: a warm feed, and its revalidation, against a bare app holding the bytes.

Why these two: calendar apps poll the same URL every few minutes forever, so the warm 200 and the
If-None-Match 304 are nearly all the traffic a deployment sees. The target is to stay within 80% of
what Starlette itself manages on the same uvicorn when it does no work at all.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from starlette.types import Message, Receive, Scope, Send

from app.domain.options import FeedOptions
from app.services.container import open_services
from app.store.engine import HotReader
from app.store.feedlookup import LOOKUP
from app.store.secrets import hash_feed_token
from app.web.access_log import AccessEntry, AccessLog, current_sink, set_sink
from app.web.logs import TextFormatter
from app.web.observe import Observe, Observer
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
    async with lab.app(deployment, "app-warm") as app:
        body, headers = await first_answer(app.url + path)
        events = body.count(b"BEGIN:VEVENT")
        print(f"  feed: {events} events, {len(body):,} bytes, options {_shown(TYPICAL_FEED)}")
        async with (
            bare_server(lab, path, body, headers) as bare,
            bare_server(lab, path, body, headers, "bench.targets:bare_logged") as ceiling,
        ):
            revalidate = {"If-None-Match": headers["ETag"]}
            cases = {
                1: _Case("1. warm feed throughput", path, {}, 200, len(body), "warm-200"),
                2: _Case("2. revalidation (304)", path, revalidate, 304, 0, "warm-304"),
            }
            results = [
                result
                for number in selected
                for result in await _compare(cases[number], app, bare, ceiling, sizes, lab.profile_dir)
            ]
        await _attribute(deployment, feed.token, calls=sizes.throughput_requests // 3)
        return results


@asynccontextmanager
async def bare_server(
    lab: Lab, path: str, body: bytes, headers: Mapping[str, str], factory: str = "bench.targets:bare"
) -> AsyncIterator[Server]:
    """The bare baseline serving `body` with `headers` for any feed path, checked to serve them."""
    (lab.workdir / "feed.ics").write_bytes(body)
    (lab.workdir / "headers.json").write_text(json.dumps(dict(headers)))
    env = {BODY_FILE: str(lab.workdir / "feed.ics"), HEADERS_FILE: str(lab.workdir / "headers.json")}
    async with uvicorn_server(factory.rsplit(":", 1)[1], factory, env, lab.workdir) as bare:
        if (await first_answer(bare.url + path))[0] != body:
            raise BenchError("the bare app does not serve the app's bytes")
        yield bare


async def _attribute(deployment: Deployment, token: str, calls: int) -> None:
    """Time the warm path's steps in this process, so the table's ratio comes with its cause."""
    async with AsyncExitStack() as stack:
        reader = HotReader(deployment.settings.database_url)  # the lookup's read, without the memory
        stack.push_async_callback(reader.dispose)
        services = await stack.enter_async_context(open_services(deployment.settings))
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

        async def read_row() -> None:
            await reader.first(LOOKUP, {"token_hash": hash_feed_token(token)})

        async def probe() -> None:
            reader.commit_marker()

        async def memory_hit() -> None:
            await services.feeds.render(context, options)

        logged, unlogged = _access_log_pair()
        formatter = TextFormatter()
        entry = (time.time(), logging.INFO, "GET", "/feeds/{token}.ics", 200, 0.4, 103_617)

        async def format_line() -> None:
            formatter.format_access(entry)

        # As under `airdate serve`: the middleware leaves an entry with the handler, dropped here.
        previous = current_sink()
        set_sink(deque[AccessEntry](maxlen=1).append)
        try:
            access = await _micros(logged, calls) - await _micros(unlogged, calls)
        finally:
            set_sink(previous)

        steps = {
            "token lookup (feed row from memory)": await _micros(lookup, calls),
            "of which the commit probe (WAL index header)": await _micros(probe, calls),
            "the indexed read it saves": await _micros(read_row, calls),
            "a bare SELECT 1 session (floor of any session read)": await _micros(select_one, calls),
            "rendered-feed memory hit": await _micros(memory_hit, calls),
            "access entry and count": access,
            "its line formatted there": await _micros(format_line, calls),
        }
    shown = ", ".join(f"{label} {micros:,.0f} µs" for label, micros in steps.items())
    print(f"  warm path steps, one at a time in this process: {shown}")


def _access_log_pair() -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """One tiny request through the request observer (access log and counts) and the same request
    without it: their difference is what they add per request, with the entry left for the log
    handler's flusher."""
    logger = logging.getLogger("airdate.access.bench")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    scope = {"type": "http", "method": "GET", "path": "/feeds/abc.ics", "route": None}

    async def tiny(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * 100})

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    middleware = Observe(tiny, Observer(AccessLog(logger), Counter()))
    return (lambda: middleware(scope, receive, send)), (lambda: tiny(scope, receive, send))


async def _micros(step: Callable[[], Awaitable[None]], calls: int, blocks: int = 5) -> float:
    """Microseconds per call in the fastest of `blocks` blocks: other work on the machine only ever
    adds time, so the fastest block is the closest to the step's own cost."""
    for _ in range(calls // 10):  # warm-up: pool connections, compiled statement cache
        await step()
    per_block = max(1, calls // blocks)
    fastest = float("inf")
    for _ in range(blocks):
        started = time.perf_counter()
        for _ in range(per_block):
            await step()
        fastest = min(fastest, (time.perf_counter() - started) / per_block)
    return fastest * 1e6


async def first_answer(url: str) -> tuple[bytes, dict[str, str]]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.get(url, headers={"Accept-Encoding": "identity"})
    if response.status_code != 200:
        raise BenchError(f"GET feed: {response.status_code} {response.text[:200]}")
    return response.content, {name: response.headers[name] for name in COPIED_HEADERS}


@dataclass(frozen=True, slots=True)
class _Case:
    name: str
    path: str
    headers: Mapping[str, str]
    expect: int  # status
    body_length: int  # of every answer: both servers must send all of it, every time
    profile_name: str

    async def load(self, server: Server, requests: int, connections: int) -> LoadResult:
        run = await load(
            server.url,
            [self.path],
            requests=requests,
            connections=connections,
            headers=self.headers,
            expect=self.expect,
        )
        if run.body_bytes != requests * self.body_length:
            raise BenchError(
                f"{server.name} sent {run.body_bytes:,} body bytes for {requests} answers "
                f"of {self.body_length:,}"
            )
        return run


async def _compare(
    case: _Case, app: Server, bare: Server, ceiling: Server, sizes: Sizes, profile_dir: Path | None
) -> list[Result]:
    """Alternate app, bare and ceiling rounds (so drift hits all alike); the best round of each counts.

    The ceiling (the bare app with the access log and request counts `airdate serve` has) is printed
    as its own row: what the app's ratio could reach if the product's own work cost nothing.
    """
    name = case.name
    runs: dict[str, list[LoadResult]] = {"app": [], "bare": [], "ceiling": []}
    servers = {"app": app, "bare": bare, "ceiling": ceiling}
    profile = None if profile_dir is None else profile_dir / f"{case.profile_name}.svg"
    for server in servers.values():  # warm-up: connections, caches, the interpreter's first calls
        await case.load(server, sizes.connections * 20, sizes.connections)
    for round_number in range(sizes.throughput_rounds):
        for label, server in servers.items():
            async with recording(app.pid, profile if round_number == 0 and server is app else None):
                runs[label].append(await case.load(server, sizes.throughput_requests, sizes.connections))
    best = {label: max(side, key=lambda run: run.per_second) for label, side in runs.items()}
    for label, run in best.items():
        print(
            f"  {name}: {label} {rate(run.requests, run.seconds, 'req')}, p50 {millis(run.p50)}, "
            f"p95 {millis(run.p95)} over {sizes.connections} connections"
        )
    bare_rate = rate(best["bare"].requests, best["bare"].seconds, "req")
    ratio = best["app"].per_second / best["bare"].per_second
    return [
        Result(
            name=name,
            measured=f"{rate(best['app'].requests, best['app'].seconds, 'req')} app",
            baseline=f"{bare_rate} bare",
            ratio=ratio,
            target=f">= {TARGET} of bare",
            met=ratio >= TARGET,
        ),
        Result(
            name=f"{name.split('.')[0]}. ceiling: bare + access log + counts",
            measured=f"{rate(best['ceiling'].requests, best['ceiling'].seconds, 'req')} ceiling",
            baseline=f"{bare_rate} bare",
            ratio=best["ceiling"].per_second / best["bare"].per_second,
            target="(no target)",  # the most the app could reach if its own work cost nothing
            met=None,
        ),
    ]


def _shown(options: FeedOptions) -> str:
    sources = ",".join(options.sources)
    return f"sources={sources} past_days={options.past_days} future_days={options.future_days}"
