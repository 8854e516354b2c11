"""The calendar proxy cache: window -> grid chunks -> DB cache -> Trakt -> upsert.

Why a cache in the database and not only in memory: calendar apps poll every few minutes, Trakt allows
500 GETs per five minutes per user, and several instances may serve one person. Every answer is built
from cached chunks; Trakt is asked only for chunks that are missing (the caller waits, within a
budget) or stale (the caller gets the stale copy now and the refresh runs in the background). When
Trakt fails, the last good copy keeps being served for up to a week, so a Trakt hiccup never empties
anyone's calendar.

This module only runs the I/O: the grid is `grid`, what to do about each chunk and how to build the
answer is `plan`, and every statement is `app.store.chunks`. What is left here is who calls Trakt
(one process per chunk, by lease; one task per chunk in this process, by single flight) and what
each outcome leaves in the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock, Sleep
from app.core.errors import NeedsReconnect, Unavailable, UpstreamError
from app.core.singleflight import SingleFlight
from app.core.tasks import Background
from app.domain.drops import DropLog
from app.domain.sources import Source
from app.feeds.calendar import freshness
from app.feeds.calendar.grid import Chunk, Window, window_chunks
from app.feeds.calendar.plan import CalendarResult, assemble, plan, retry_delay
from app.store.chunks import ChunkKey, ChunkStore, Fetched
from app.store.groupwrite import GroupWriter
from app.store.leases import BatchedLeases, Patience
from app.store.ratelimits import TraktLimits
from app.store.tables import ConnectionStatus
from app.upstream.connections import ConnectionService
from app.upstream.trakt import TraktClient

log = logging.getLogger(__name__)

Outcome = Literal["fetched", "failed", "reconnect", "skipped"]


@dataclass(frozen=True)
class _Answer:
    chunk: Chunk
    payload: list[Any]


class CalendarService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        trakt: TraktClient,
        connections: ConnectionService,
        limits: TraktLimits,
        clock: Clock,
        *,
        ttl: timedelta,
        stale_if_error: timedelta = timedelta(days=7),
        wait_budget: float = 3.0,
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.05,
        sleep: Sleep = asyncio.sleep,
        drops: DropLog | None = None,
    ) -> None:
        self._chunks = ChunkStore(session_factory, clock)
        self.drops = drops or DropLog()  # items dropped while parsing cached chunks, for /metrics
        self._trakt = trakt
        self._connections = connections
        self._limits = limits
        self._clock = clock
        self._ttl = ttl
        self._stale_if_error = stale_if_error
        self._wait_budget = wait_budget
        self._lease = lease
        # A fetch gives up while its lease still holds, a third of it left to record the outcome: past
        # the lease another process may fetch the chunk too, and a late outcome would overwrite its own.
        self._fetch_deadline = lease.total_seconds() * 2 / 3
        # Lost a lease on a chunk we have no data for: wait for the winner, within the wait budget.
        self._patience = Patience(wait_budget, poll_interval, sleep)
        self._flight: SingleFlight[Chunk, Outcome] = SingleFlight()
        self._answers: GroupWriter[_Answer] = GroupWriter(self._store)
        self._background = Background("calendar refresh")

    async def entries(
        self, user_id: int, sources: Sequence[Source], window: Window, *, ignore_watched: bool = False
    ) -> CalendarResult:
        """The window's entries from cache, fetching what is missing and refreshing what is stale."""
        chunks = window_chunks(user_id, sources, window, ignore_watched=ignore_watched)
        keys = [chunk.key for chunk in chunks]
        now = self._clock()
        rows = await self._chunks.load(user_id, keys)
        todo = plan(chunks, rows, now, self._stale_if_error)
        needs_reconnect = held = False
        if not todo.settled:
            needs_reconnect = await self._connections.status(user_id) != ConnectionStatus.OK
            # A 429 for this user (heard by any process) holds every chunk, not only the one it hit.
            held = not needs_reconnect and await self._limits.held(user_id)
        if not needs_reconnect and not held:
            # Both kinds run to the end whatever happens to this request; only the missing are awaited.
            started = [
                self._background.start(call) for call in self._refreshes(todo.refresh + todo.fetch, now)
            ]
            calls = started[len(todo.refresh) :]
            if calls:
                outcomes = await self._wait(calls, has_data=todo.has_data)
                needs_reconnect = "reconnect" in outcomes
                rows = await self._chunks.load(user_id, keys)
        return assemble(
            chunks,
            rows,
            window,
            self._clock(),
            stale_if_error=self._stale_if_error,
            needs_reconnect=needs_reconnect,
            drops=self.drops,
        )

    async def refresh_chunk(self, chunk: Chunk, *, margin: timedelta = timedelta(0)) -> bool:
        """Refresh one chunk if it expires within `margin`; True when this call stored new data.

        For the background refresher: the expiry condition is re-checked in the lease, so of several
        instances that picked the same chunk only one calls Trakt. The refresh is held as background
        work, so a refresher stopped at shutdown leaves it to finish under `drain`.
        """
        [refresh] = self._refreshes([chunk], self._clock() + margin)
        return await asyncio.shield(self._background.start(refresh)) == "fetched"

    async def drain(self) -> None:
        """Wait for every refresh to finish, the refresher's too (shutdown, and tests of their effect)."""
        await self._background.drain()

    # -- fetching -------------------------------------------------------------------------------

    async def _wait(self, calls: Sequence[asyncio.Future[Outcome]], *, has_data: bool) -> list[Outcome]:
        """Wait for the fetches, but never past the budget when there is something to answer with."""
        done, _ = await asyncio.wait(calls, timeout=self._wait_budget if has_data else None)
        return [call.result() for call in done]

    def _refreshes(self, chunks: Sequence[Chunk], due_before: datetime) -> list[Awaitable[Outcome]]:
        """One refresh per chunk, joining any already running in this process; new ones lease together."""
        leases = BatchedLeases(partial(self._take_leases, due_before))
        return [self._flight.run(chunk, partial(self._start, leases, chunk)) for chunk in chunks]

    def _start(self, leases: BatchedLeases[Chunk], chunk: Chunk) -> Awaitable[Outcome]:
        leases.enlist(chunk)
        return self._refresh(chunk, leases)

    async def _refresh(self, chunk: Chunk, leases: BatchedLeases[Chunk]) -> Outcome:
        """Fetch one chunk if this process wins its lease; never raises (it often runs unobserved)."""
        try:
            if not await leases.won(chunk):
                # We may have no data at all: give the winner (maybe another process) time to store.
                await self._patience.released(partial(self._chunks.being_filled, chunk.key))
                return "skipped"
            return await self._fetch(chunk)
        except Exception:
            log.exception("calendar refresh of %s failed unexpectedly", chunk.describe())
            return "failed"

    async def _fetch(self, chunk: Chunk) -> Outcome:
        try:
            # One gate for the call and its retry after a refresh: the first attempt uses the spend
            # made with the lease, the retry is charged to the budget like any other GET.
            gate = self._limits.gate(chunk.user_id, prepaid=1)
            async with asyncio.timeout(self._fetch_deadline):
                payload = await self._connections.call(
                    chunk.user_id,
                    lambda token: self._trakt.calendar(
                        token,
                        chunk.source,
                        chunk.start,
                        chunk.days,
                        gate=gate,
                        ignore_watched=chunk.ignore_watched,
                    ),
                )
        except TimeoutError:
            no_answer = Unavailable(f"no answer within {self._fetch_deadline:.0f} s, retries included")
            await self._record_failure(chunk, no_answer)
            return "failed"
        except NeedsReconnect:  # only Trakt refusing the refresh token; a 401 is refreshed first
            await self._chunks.release(chunk.key)
            return "reconnect"
        except UpstreamError as exc:
            await self._record_failure(chunk, exc)
            return "failed"
        except Exception:
            await self._chunks.release(chunk.key)
            raise
        await self._answers.submit(_Answer(chunk, payload))
        return "fetched"

    async def _take_leases(self, due_before: datetime, chunks: list[Chunk]) -> set[Chunk]:
        """The chunks this process may fetch: still due, outside backoff, and within the user's limits."""
        by_key = {chunk.key: chunk for chunk in chunks}
        won: set[ChunkKey] = await self._chunks.take_leases(
            by_key, due_before=due_before, lease=self._lease, limits=self._limits
        )
        return {by_key[key] for key in won}

    async def _store(self, answers: list[_Answer]) -> None:
        """The group writer's one write: every answer that arrived meanwhile, with its lifetime."""
        now = self._clock()
        await self._chunks.store(
            [
                Fetched(
                    answer.chunk.key,
                    answer.payload,
                    fetched_at=now,
                    expires_at=freshness.expires_at(
                        now, answer.chunk.start, self._ttl, longest=self._stale_if_error / 2
                    ),
                )
                for answer in answers
            ]
        )

    async def _record_failure(self, chunk: Chunk, error: UpstreamError) -> None:
        """Keep the last good payload; remember when the outage began and when to ask again."""
        now = self._clock()
        failing_since = await self._chunks.failing_since(chunk.key)
        wait = retry_delay(error, failing_since, now)
        log.warning("calendar %s: %s; next attempt in %s", chunk.describe(), error, wait)
        await self._chunks.record_failure(
            chunk.key, failed_at=failing_since or now, error=str(error), retry_after=now + wait
        )
