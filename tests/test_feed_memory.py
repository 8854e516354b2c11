"""The rendered-feed memory is bounded, a warm poll is served from it without rendering again, and
concurrent polls of a cold feed share one rendering."""

from __future__ import annotations

import asyncio

from app.domain.options import FeedOptions
from app.feeds.service import FeedService, FeedStats
from app.services.container import open_services
from tests.fixtures.app import connect
from tests.fixtures.sandbox import RunningSandbox
from tests.support.settings import sandbox_settings


async def test_renderings_stay_within_the_byte_limit_newest_kept(
    database_url: str, sandbox: RunningSandbox
) -> None:
    settings = sandbox_settings(database_url, sandbox.url, "http://127.0.0.1:9")
    sandbox.state.config.device_interval = 0
    feed = await connect(settings, sandbox.clock)
    async with open_services(settings, clock=sandbox.clock) as services:
        context = await services.feeds.lookup(feed.token)
        assert context is not None
        one = await services.feeds.render(context, FeedOptions())
        limit = 6 * len(one.body)  # room for one rendering of about this size, not for two
        feeds = FeedService(
            services.sessions,
            services.feeds._reader,
            services.feeds._rows,
            services.calendar,
            services.posters,
            sandbox.clock,
            public_url=settings.public_url,
            memory_bytes=limit,
        )
        first = await feeds.render(context, FeedOptions())
        assert await feeds.render(context, FeedOptions()) is first  # warm: the same object, no render
        assert feeds.stats() == FeedStats(1, 4 * len(first.body), renders=1)
        second = await feeds.render(context, FeedOptions(all_day=True))
        stats = feeds.stats()
        assert (stats.memory_entries, stats.memory_bytes) == (1, 4 * len(second.body))
        assert stats.memory_bytes <= limit
        again = await feeds.render(context, FeedOptions())  # evicted: rendered anew, same bytes
        assert again is not first and again.body == first.body
        unbounded = await services.feeds.render(context, FeedOptions(all_day=True))
        assert services.feeds.stats().memory_entries == 2 and unbounded.body == second.body


async def test_concurrent_cold_polls_share_one_rendering(database_url: str, sandbox: RunningSandbox) -> None:
    settings = sandbox_settings(database_url, sandbox.url, "http://127.0.0.1:9")
    sandbox.state.config.device_interval = 0
    feed = await connect(settings, sandbox.clock)
    async with open_services(settings, clock=sandbox.clock) as services:
        context = await services.feeds.lookup(feed.token)
        assert context is not None
        rendered = await asyncio.gather(*(services.feeds.render(context, FeedOptions()) for _ in range(20)))
        assert services.feeds.stats().renders == 1
        assert all(each is rendered[0] for each in rendered)
