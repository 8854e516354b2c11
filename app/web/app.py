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

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

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
                            POLL_FLUSH_SECONDS, lambda: _flush_polls(services), log=log, what="poll flush"
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
                await _flush_polls(services)

    app = Starlette(
        routes=[
            *feeds.routes,
            *health.routes,
            *auth.routes,
            *pages.routes,
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[
            Middleware(feeds.FeedsFirst, ended=observer.ended),  # reports the polls it answers itself
            Middleware(Observe, observer=observer),
        ],
        exception_handlers=errors.handlers,  # styled pages for people; feed URLs stay plain
        lifespan=lifespan,
    )
    app.state.request_counts = request_counts
    return app


async def _flush_polls(services: Services) -> None:
    try:
        await services.accounts.record_polls(services.feeds.take_polls())
    except Exception:
        log.exception("could not record feed poll counts")
