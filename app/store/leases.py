"""Row leases shared between processes: who may call upstream for a cached row, and waiting for them.

Why in the database: instances (and `serve --workers`) share nothing but the database, so a lease
column on the cached row is what lets exactly one process call Trakt for a calendar chunk, or TMDB for
a poster, while the others wait for its answer instead of repeating the call. The cache modules own
their SQL (which rows, what "due" means); this module owns the two patterns they share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from app.core.clock import Sleep

K = TypeVar("K", bound=Hashable)


class BatchedLeases(Generic[K]):
    """The leases of rows whose refreshes start together, taken in one transaction when first needed.

    Why: every lease is a write and SQLite has one writer at a time. Two dozen rows each taking
    their own lease queued on its lock (and its busy handler's sleeps of up to 100 ms), which spread
    the "parallel" upstream calls over most of a second. A row enlists when its refresh is created;
    the first of those refreshes to run takes the leases of every row enlisted by then, so one
    request's rows cost one write however many there are. A row asked about without enlisting first
    gets a round of its own.
    """

    def __init__(self, take: Callable[[list[K]], Awaitable[set[K]]]) -> None:
        self._take = take
        self._enlisted: dict[K, None] = {}
        self._taking: dict[K, asyncio.Future[set[K]]] = {}

    def enlist(self, key: K) -> None:
        self._enlisted[key] = None

    async def won(self, key: K) -> bool:
        if key not in self._taking:  # a later enlistment than the last round's: a round of its own
            self._enlisted[key] = None
            batch, self._enlisted = list(self._enlisted), {}
            taking = asyncio.ensure_future(self._take(batch))
            self._taking.update(dict.fromkeys(batch, taking))
        # Shielded: one refresh being cancelled must not cancel the other rows' leases.
        return key in await asyncio.shield(self._taking[key])


async def wait_for_release(
    still_leased: Callable[[], Awaitable[bool]], *, polls: int, interval: float, sleep: Sleep
) -> None:
    """Lost a lease: give the winner (maybe another process) up to `polls` looks to store its answer."""
    for _ in range(polls):
        if not await still_leased():
            return
        await sleep(interval)
