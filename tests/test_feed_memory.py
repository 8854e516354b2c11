"""The rendered-feed memory is bounded, a warm poll is served from it without rendering again, and
concurrent polls of a cold feed share one rendering.

Its byte bound counts an estimate per rendering (`app.feeds.memory.footprint`), so the bound only
means something if the estimate covers what a rendering really keeps alive, the answers its polls
prepared included (.json too). That is measured here with tracemalloc: the bytes freed when a feed
service and its memory are dropped, against what the memory accounted for and against the bound.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from app.domain.options import NO_QUERY, FeedOptions, FeedQuery
from app.feeds.memory import Basis, FeedMemory, RenderedFeed, footprint
from app.feeds.service import FeedService
from app.services.container import Services, open_services
from app.store.feedlookup import FeedContext
from app.web.routes import feeds as feeds_route
from tests.fixtures.app import connect
from tests.fixtures.sandbox import RunningSandbox
from tests.support.settings import sandbox_settings

VARIANTS = [FeedOptions(alarm=minutes) for minutes in range(5, 45, 5)]  # eight distinct renderings


def _service(services: Services, sandbox: RunningSandbox, memory_bytes: int) -> FeedService:
    return FeedService(
        services.sessions,
        services.feeds._reader,
        services.feeds._rows,
        services.calendar,
        services.posters,
        sandbox.clock,
        public_url=services.settings.public_url,
        memory_bytes=memory_bytes,
    )


@asynccontextmanager
async def _connected(
    database_url: str, sandbox: RunningSandbox
) -> AsyncIterator[tuple[Services, FeedContext]]:
    """The services of a fresh deployment, and the context of its one signed-in user's feed."""
    settings = sandbox_settings(database_url, sandbox.url, "http://127.0.0.1:9")
    sandbox.state.config.device_interval = 0
    feed = await connect(settings, sandbox.clock)
    async with open_services(settings, clock=sandbox.clock) as services:
        context = await services.feeds.lookup(feed.token)
        assert context is not None
        yield services, context


BASIS = Basis(("Feed", "user"), "UTC", "{}", data_version=1, connection_status="ok")


def _rendered(body: bytes) -> RenderedFeed:
    return RenderedFeed(
        body, '"etag"', "date", datetime(2027, 1, 1, tzinfo=UTC), "digest", (), {}, FeedOptions()
    )


def test_a_rendering_is_served_only_for_the_basis_it_was_made_from() -> None:
    memory = FeedMemory()
    rendered = _rendered(b"x" * 100)
    memory.put(1, FeedOptions(), BASIS, rendered)
    assert memory.get(1, FeedOptions(), BASIS) is rendered
    for other in (
        BASIS._replace(data_version=2),
        BASIS._replace(title=("Renamed", "user")),
        BASIS._replace(user_tz="America/Chicago"),
        BASIS._replace(stored_options='{"alarm": 30}'),
        BASIS._replace(connection_status="needs_reconnect"),
    ):
        assert memory.get(1, FeedOptions(), other) is None
    assert (
        memory.get(2, FeedOptions(), BASIS) is None
        and memory.get(1, FeedOptions(all_day=True), BASIS) is None
    )


def test_a_newer_rendering_replaces_the_older_one_of_its_feed_and_options() -> None:
    memory = FeedMemory()
    memory.put(1, FeedOptions(), BASIS, _rendered(b"x" * 100))
    newer = _rendered(b"y" * 50)
    newer_basis = BASIS._replace(data_version=2)
    memory.put(1, FeedOptions(), newer_basis, newer)
    assert (len(memory), memory.bytes) == (1, footprint(newer))
    assert memory.get(1, FeedOptions(), newer_basis) is newer


def test_the_memory_is_bounded_by_count_too() -> None:
    memory = FeedMemory(entries=3)
    for feed_id in range(10):
        memory.put(feed_id, FeedOptions(), BASIS, _rendered(b"x"))
    assert len(memory) == 3 and memory.get(9, FeedOptions(), BASIS) is not None


def _every_answer(context: FeedContext, rendered: RenderedFeed) -> None:
    """Prepare every answer the feed route can keep with a rendering: .ics and .json, plain and
    gzip, inline and download, and the 304s (the route's own functions, as a poll of each calls them)."""
    for gzip in (None, "gzip"):
        for query in (NO_QUERY, FeedQuery(download=True)):
            feeds_route._ics_answer(context, rendered, query, 3600, None, gzip)
        feeds_route._json_answer(context, rendered, None, gzip)
    feeds_route._ics_answer(context, rendered, NO_QUERY, 3600, rendered.etag, None)
    _, json_etag = feeds_route._json_body(context, rendered)
    feeds_route._json_answer(context, rendered, json_etag, None)


async def _held_bytes(
    services: Services, sandbox: RunningSandbox, context: FeedContext, memory_bytes: int
) -> tuple[int, int, int]:
    """Render every variant into a fresh service with this bound, each with every answer its polls
    can prepare; return the renderings it kept, the bytes it accounted, and the bytes its memory
    really held: what tracemalloc sees freed when the service is dropped."""
    tracemalloc.start()
    try:
        feeds = _service(services, sandbox, memory_bytes)
        for options in VARIANTS:
            _every_answer(context, await feeds.render(context, options))
        stats = feeds.stats()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        del feeds
        gc.collect()
        freed = before - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return stats.memory_entries, stats.memory_bytes, freed


async def test_what_the_memory_really_holds_is_within_what_it_counts_and_its_bound(
    database_url: str, sandbox: RunningSandbox
) -> None:
    async with _connected(database_url, sandbox) as (services, context):
        warm_up = _service(services, sandbox, memory_bytes=2**40)
        for options in VARIANTS:  # fill the shared caches (calendar, posters, VEVENTs) first
            await warm_up.render(context, options)
        del warm_up

        kept, accounted, held = await _held_bytes(services, sandbox, context, memory_bytes=2**40)
        assert kept == len(VARIANTS)
        per_rendering = held / kept
        assert 0 < held <= accounted  # the estimate covers what the memory really keeps alive

        limit = int(2.5 * per_rendering)  # room for about two renderings of these, never eight
        kept, accounted, held = await _held_bytes(services, sandbox, context, memory_bytes=limit)
        assert 1 <= kept < len(VARIANTS) and accounted <= limit
        assert held <= limit  # measured: it fails if the memory stops evicting


async def test_renderings_stay_within_the_byte_limit_newest_kept(
    database_url: str, sandbox: RunningSandbox
) -> None:
    async with _connected(database_url, sandbox) as (services, context):
        one = await services.feeds.render(context, FeedOptions())
        feeds = _service(services, sandbox, memory_bytes=len(one.body) * 6)  # one estimate fits, two do not
        first = await feeds.render(context, FeedOptions())
        assert await feeds.render(context, FeedOptions()) is first  # warm: the same object, no render
        assert (feeds.stats().memory_entries, feeds.stats().renders) == (1, 1)
        second = await feeds.render(context, FeedOptions(all_day=True))
        stats = feeds.stats()
        assert stats.memory_entries == 1 and stats.memory_bytes <= len(one.body) * 6
        again = await feeds.render(context, FeedOptions())  # evicted: rendered anew, same bytes
        assert again is not first and again.body == first.body
        unbounded = await services.feeds.render(context, FeedOptions(all_day=True))
        assert unbounded.body == second.body
        assert services.feeds.stats().memory_entries == 2


async def test_concurrent_cold_polls_share_one_rendering(database_url: str, sandbox: RunningSandbox) -> None:
    async with _connected(database_url, sandbox) as (services, context):
        rendered = await asyncio.gather(*(services.feeds.render(context, FeedOptions()) for _ in range(20)))
        assert services.feeds.stats().renders == 1
        assert all(each is rendered[0] for each in rendered)
