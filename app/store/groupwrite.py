"""Group commits: one writer per process that batches what arrives while it is busy.

Why: upstream answers (calendar chunks, TMDB posters) arrive within milliseconds of each other.
Each in its own transaction, they queued on SQLite's write lock; here the first answer is written at
once and the ones arriving during that write go together in the next, so an answer waits for at most
one write besides its own, and a cold feed costs a handful of writes instead of one per answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupWriter(Generic[T]):
    """Commits everything queued while the previous write was busy in one transaction."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._writing = 0  # items in the transaction under way
        self._writer: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Items submitted and not yet committed: the one write under way and the group behind it."""
        return self._writing + len(self._queue)

    async def submit(self, item: T) -> None:
        """Return once `item` is committed; raise what its transaction raised."""
        committed = asyncio.get_running_loop().create_future()
        self._queue.append((item, committed))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._drain())
        await asyncio.shield(committed)  # a cancelled submitter leaves the group's write alone

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[None]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                self._writing = len(batch)
                try:
                    await self._write([item for item, _ in batch])
                except Exception as exc:
                    for _, committed in batch:
                        committed.set_exception(exc)
                else:
                    for _, committed in batch:
                        committed.set_result(None)
        finally:
            self._writing = 0
            self._writer = None
            abandoned, self._queue = [*batch, *self._queue], []
            for _, committed in abandoned:  # only when cancelled (shutdown): nobody may hang
                if not committed.done():
                    committed.cancel()
