"""The app over HTTP without a socket: httpx's ASGI transport, with the app's lifespan run around it.

Why besides `tests.support.server`: suites that send thousands of requests (abuse) or measure what
one request costs (the access log) would otherwise mostly measure loopback TCP and a second thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

BASE_URL = "http://airdate.test"


@asynccontextmanager
async def in_process(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests go straight into `app`, started and stopped as a server would."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client
