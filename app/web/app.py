"""`create_app(settings)`: the Starlette application with its routes, middleware and lifespan.

The lifespan owns the process's services (one engine, one HTTP client) and two background loops: the
refresher that renews calendar chunks shortly before they go stale, and the flusher that writes
batched poll counts, so that serving a feed never writes to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from app.core.clock import Clock, utc_now
from app.core.config import Settings
from app.core.periodic import run_every
from app.services.container import Services, open_services
from app.web.access_log import AccessLog
from app.web.observe import Observe, Observer
from app.web.routes import auth, errors, feeds, health, pages

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
POLL_FLUSH_SECONDS = 30.0


def create_app(settings: Settings, *, clock: Clock = utc_now, background: bool = True) -> Starlette:
    """The web application; `background=False` leaves out the loops (tests drive them directly)."""
    request_counts: Counter[tuple[str, int]] = Counter()
    observer = Observer(AccessLog(), request_counts)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, clock=clock) as services:
            app.state.services = services
            tasks = (
                [
                    asyncio.create_task(services.refresher.run_forever(), name="refresher"),
                    asyncio.create_task(
                        run_every(
                            POLL_FLUSH_SECONDS, lambda: flush_polls(services), log=log, what="poll flush"
                        )
                    ),
                ]
                if background
                else []
            )
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await services.calendar.drain()
                await services.posters.drain()
                await flush_polls(services)

    app = _Airdate(
        ended=observer.ended,
        routes=[
            *feeds.routes,
            *health.routes,
            *auth.routes,
            *pages.routes,
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[Middleware(Observe, observer=observer)],  # polls are reported by FeedsFirst
        exception_handlers=errors.handlers,  # styled pages for people; feed URLs stay plain
        lifespan=lifespan,
    )
    app.state.request_counts = request_counts
    return app


class _Airdate(Starlette):
    """Starlette with `FeedsFirst` in front of everything it builds, its error middleware included
    (which `middleware=` cannot do): a poll is the service's whole load, and every layer it passes costs
    it (docs/performance.md, issue 11). `FeedsFirst` answers a failing poll as that middleware would."""

    def __init__(self, *, ended: feeds.Ended, **options: Any) -> None:
        self._ended = ended
        super().__init__(**options)

    def build_middleware_stack(self) -> ASGIApp:
        return feeds.FeedsFirst(super().build_middleware_stack(), ended=self._ended)


async def flush_polls(services: Services) -> None:
    """Write the poll counts gathered since the last flush; a failed write is retried with the next,
    and one that shutdown cancelled (waiting for SQLite's lock, say) with the final flush."""
    polls = services.feeds.take_polls()
    try:
        await services.accounts.record_polls(polls)
    except BaseException as stopped:  # a failed write, or a cancelled one: the batch is not lost
        services.feeds.give_back_polls(polls)
        if not isinstance(stopped, Exception):
            raise
        log.exception("could not record feed poll counts; they go out with the next batch")
