"""Collapse concurrent identical work inside one process into one call.

Why: a calendar app, a dashboard and a refresher can ask for the same Trakt chunk, token refresh or
TMDB poster at the same moment; the upstream budgets (and single-use refresh tokens) only allow one
call. The shared call runs as its own task, so a caller that gives up (a timeout, a disconnected
client) does not cancel the work the others - or the next request, via the cache - are waiting for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """At most one in-flight call per key; every concurrent caller gets its result or exception."""

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, factory: Callable[[], Awaitable[V]]) -> V:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(task)

    def _forget(self, key: K, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        # Every waiter may have gone away; retrieve the outcome so asyncio does not log the
        # exception as "never retrieved" - the callers that stayed have already seen it.
        if not task.cancelled():
            task.exception()
