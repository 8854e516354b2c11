"""Background refresh: keep the calendar chunks of people who actually poll fresh before they expire.

Why: with stale-while-revalidate alone, the first poll after expiry answers with stale data. Refreshing
shortly before expiry means a polling calendar app nearly always gets fresh data at the cost of one
Trakt call per chunk per TTL, and only for users whose feeds were polled recently, so abandoned feeds
cost nothing. Several instances may run this loop against one PostgreSQL: the chunk lease in
`CalendarService.refresh_chunk` (a compare-and-set that re-checks the expiry) lets exactly one of
them call Trakt for each chunk. Which chunks are due is a query (`ChunkStore.due`); this module
keeps the schedule: how often to ask, how many to take, how many to refresh at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock, Sleep
from app.core.periodic import run_every
from app.feeds.calendar import CHUNK_DAYS, CalendarService, Chunk
from app.store.chunks import ChunkKey, ChunkStore

log = logging.getLogger(__name__)


MAX_CONCURRENT_REFRESHES = 8


class Refresher:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        calendar: CalendarService,
        clock: Clock,
        *,
        poll_window: timedelta = timedelta(days=14),
        margin: timedelta = timedelta(minutes=5),
        batch: int = 50,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._chunks = ChunkStore(session_factory, clock)
        self._calendar = calendar
        self._clock = clock
        self._poll_window = poll_window
        self._margin = margin
        self._batch = batch
        self._sleep = sleep
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_REFRESHES)

    async def run_once(self) -> int:
        """Refresh one batch of chunks that expire within `margin`; returns how many this call refreshed."""
        due = await self._due_chunks()
        results = await asyncio.gather(*(self._refresh(key) for key in due))
        refreshed = sum(results)
        if due:
            log.info("refresher: %d of %d due chunks refreshed here", refreshed, len(due))
        return refreshed

    async def run_forever(self, interval: float = 60.0) -> None:
        """The app lifespan's loop; one bad round is logged and the next one runs as usual."""
        await run_every(interval, self.run_once, log=log, what="refresher round", sleep=self._sleep)

    async def _refresh(self, key: ChunkKey) -> bool:
        chunk = Chunk.of(key)
        if chunk is None:  # a source removed since the row was cached
            return False
        async with self._limit:
            return await self._calendar.refresh_chunk(chunk, margin=self._margin)

    async def _due_chunks(self) -> list[ChunkKey]:
        """Chunks with data, expiring soon, outside backoff and lease, of connected users who poll,
        unless a 429 holds that user (the Trakt client's gate would refuse the call anyway; skipping
        here saves the lease and the token check).

        Chunks that lie wholly in the past are left to stale-while-revalidate: past airings rarely
        change, and refreshing them forever would spend Trakt calls on windows nobody looks at.
        """
        now = self._clock()
        return await self._chunks.due(
            expiring_by=now + self._margin,
            starting_after=now.date() - timedelta(days=CHUNK_DAYS),
            polled_since=now - self._poll_window,
            limit=self._batch,
        )
