"""Row leases shared between processes: who may call upstream for a cached row, and waiting for them.

Why in the database: instances (and `serve --workers`) share nothing but the database, so a lease
column on the cached row is what lets exactly one process call Trakt for a calendar chunk, or TMDB for
a poster, while the others wait for its answer instead of repeating the call. The stores of those
rows (`app.store.chunks`, `app.store.media`) own their SQL: which rows, what "due" means. This module
owns the two patterns they share: taking many leases in one write, and waiting (boundedly) for the
winner. The token refresh of `app.upstream.connections` waits the same way on its connection row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.core.clock import Sleep

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class Patience:
    """How long a process that lost a lease waits for the winner, and how often it looks.

    Bounded by `budget` seconds of the event loop's clock, never by the lease itself: the winner may
    be a process that died holding it, and its lease must not hold a feed request until it lapses.
    """

    budget: float
    interval: float
    sleep: Sleep = asyncio.sleep

    async def until(self, look: Callable[[], Awaitable[T | None]]) -> T | None:
        """Call `look` until it answers (anything but None), or None once the budget is spent.

        `look` may take the lease itself when it finds the row free: "take the lease, or wait for
        the winner" is then one loop, and a look that lost the race to another taker looks again.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.budget
        while (answer := await look()) is None:
            if loop.time() >= give_up:
                return None
            await self.sleep(self.interval)
        return answer

    async def released(self, still_leased: Callable[[], Awaitable[bool]]) -> bool:
        """Lost a lease: wait for the winner to store its answer; False if it had not by the budget."""

        async def look() -> bool | None:
            return None if await still_leased() else True

        return await self.until(look) is not None
