"""Background refresh: keep the calendar chunks of people who actually poll fresh before they expire.

Why: with stale-while-revalidate alone, the first poll after expiry answers with stale data. Refreshing
shortly before expiry means a polling calendar app nearly always gets fresh data at the cost of one
Trakt call per chunk per TTL, and only for users whose feeds were polled recently, so abandoned feeds
cost nothing. Several instances may run this loop against one PostgreSQL: the chunk lease in
`CalendarService.refresh_chunk` (a compare-and-set that re-checks the expiry) lets exactly one of
them call Trakt for each chunk.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock, Sleep
from app.core.periodic import run_every
from app.feeds.calendar import CHUNK_DAYS, CalendarService, parse_source_key
from app.store.tables import CalendarChunk, ConnectionStatus, Feed, TraktConnection, TraktLimit

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
        self._sessions = session_factory
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
        results = await asyncio.gather(*(self._refresh(*chunk) for chunk in due))
        refreshed = sum(results)
        if due:
            log.info("refresher: %d of %d due chunks refreshed here", refreshed, len(due))
        return refreshed

    async def run_forever(self, interval: float = 60.0) -> None:
        """The app lifespan's loop; one bad round is logged and the next one runs as usual."""
        await run_every(interval, self.run_once, log=log, what="refresher round", sleep=self._sleep)

    async def _refresh(self, user_id: int, source_key: str, start: date, days: int) -> bool:
        parsed = parse_source_key(source_key)
        if parsed is None:  # a source removed since the row was cached
            return False
        source, ignore_watched = parsed
        async with self._limit:
            return await self._calendar.refresh_chunk(
                user_id, source, start, days, ignore_watched, margin=self._margin
            )

    async def _due_chunks(self) -> list[tuple[int, str, date, int]]:
        """Chunks with data, expiring soon, outside backoff and lease, of connected users who poll,
        unless a 429 holds that user (the Trakt client's gate would refuse the call anyway; skipping
        here saves the lease and the token check).

        Chunks that lie wholly in the past are left to stale-while-revalidate: past airings rarely
        change, and refreshing them forever would spend Trakt calls on windows nobody looks at.
        """
        now = self._clock()
        today = now.date()
        polled = exists().where(
            Feed.user_id == CalendarChunk.user_id,
            Feed.revoked_at.is_(None),
            Feed.last_polled_at >= now - self._poll_window,
        )
        connected = exists().where(
            TraktConnection.user_id == CalendarChunk.user_id, TraktConnection.status == ConnectionStatus.OK
        )
        held = exists().where(TraktLimit.user_id == CalendarChunk.user_id, TraktLimit.not_before > now)
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    CalendarChunk.user_id, CalendarChunk.source, CalendarChunk.start_date, CalendarChunk.days
                )
                .where(
                    CalendarChunk.payload.is_not(None),
                    CalendarChunk.expires_at <= now + self._margin,
                    CalendarChunk.start_date > today - timedelta(days=CHUNK_DAYS),
                    or_(CalendarChunk.retry_after.is_(None), CalendarChunk.retry_after <= now),
                    or_(CalendarChunk.lease_until.is_(None), CalendarChunk.lease_until < now),
                    polled,
                    connected,
                    ~held,
                )
                .order_by(CalendarChunk.expires_at)
                .limit(self._batch)
            )
            return [(row[0], row[1], row[2], row[3]) for row in rows]
