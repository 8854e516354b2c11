"""A thread with an event loop of its own, for the one job that must not wait: a token refresh.

Why: between Trakt spending a single-use refresh token and our commit of the new pair, a crash loses
the person's grant. Taking the database lock before the spend leaves only "read the answer, UPDATE,
COMMIT" in that window, but each of those steps resumes on the event loop, and the server's loop is
busy with other requests: rendering a large feed or decoding a big calendar holds it, so under load
the window grows with whatever else the server is doing (the durability suite's figures are in
docs/performance.md). Here nothing else runs on the loop, so each step waits at most for the
interpreter to switch threads (5 ms by default) however busy the server is.

The lane has its own database engine (so the write never waits for the shared pool) and its own HTTP
client; both are made inside its loop on first use, since neither may cross event loops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.config import Settings
from app.store.engine import create_engine, create_session_factory
from app.upstream.trakt import TraktClient, create_trakt

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LaneParts:
    """What a refresh needs, bound to the loop it runs on."""

    sessions: async_sessionmaker[AsyncSession]
    trakt: TraktClient


Work = Callable[[LaneParts], Awaitable[T]]


class TokenLane:
    def __init__(
        self, settings: Settings, clock: Clock, http_factory: Callable[[], httpx.AsyncClient]
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._http_factory = http_factory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="airdate-token-lane", daemon=True)
        self._thread.start()
        self._opened: tuple[AsyncEngine, httpx.AsyncClient, LaneParts] | None = None

    async def run(self, work: Work[T]) -> T:
        """Run `work` on the lane's loop with the lane's parts; the caller's loop only awaits it."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._run(work), self._loop))

    async def aclose(self) -> None:
        """Close the lane's engine and client on its own loop, then stop the thread."""
        if self._opened is not None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._close(), self._loop))
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._loop.close()

    async def _run(self, work: Work[T]) -> T:
        if self._opened is None:
            engine = create_engine(self._settings.database_url)
            http = self._http_factory()
            trakt = create_trakt(self._settings, http, clock=self._clock)
            parts = LaneParts(create_session_factory(engine), trakt)
            self._opened = (engine, http, parts)
        return await work(self._opened[2])

    async def _close(self) -> None:
        assert self._opened is not None
        engine, http, _ = self._opened
        self._opened = None
        await http.aclose()
        await engine.dispose()
