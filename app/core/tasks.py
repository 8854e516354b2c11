"""Work that outlives the request that started it: calendar refreshes and poster lookups.

Why a helper: a request answers from the cache and leaves the stale chunk's refresh, or the poster
lookup that missed its deadline, running so the next request finds its answer. The event loop holds
only weak references to tasks, so one nobody keeps can be garbage-collected midway; and a task that
nobody awaits would take its exception with it. `Background` keeps every task until it ends, logs
what one raised, and lets shutdown (and tests that inspect the effect) wait for them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Background:
    """The tasks one service started and nobody may have to wait for."""

    def __init__(self, what: str) -> None:
        self._what = what  # names the work in the log: "calendar refresh", "poster lookup"
        self._tasks: set[asyncio.Future[Any]] = set()

    def start(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Run `work` as a task held until it ends; the caller may await it, or walk away."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def drain(self) -> None:
        """Wait until every task, including any started meanwhile, has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s failed", self._what, exc_info=exc)
