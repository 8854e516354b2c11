"""What every HTTP request leaves behind when it ends: its access-log entry and its count.

Why one middleware for both: each needs the answer's status (the log also its size and duration), and
each wrapping `send` to see them cost a warm poll more than the product's own work
(docs/performance.md, issue 11). `Observer.ended` is what both are fed from. The feed front
(`app.web.routes.feeds.FeedsFirst`) calls it directly: it sends a whole prepared answer, so it knows
what went out without watching `send`.
"""

from __future__ import annotations

from collections import Counter
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.access_log import AccessLog
from app.web.metrics import request_group


class Observer:
    """Feeds each ended request to the access log and to the request counts."""

    def __init__(self, access_log: AccessLog, counts: Counter[tuple[str, int]]) -> None:
        self._access_log = access_log
        self._counts = counts

    def ended(self, scope: Scope, status: int, size: int, started: float) -> None:
        """Record a request that began at `perf_counter()` == `started` and sent `size` body bytes."""
        self._counts[(request_group(scope["path"]), status)] += 1
        self._access_log.ended(scope, status, size, started)


class Observe:
    """ASGI middleware reporting every HTTP request to an `Observer` once it has ended (a crash before
    the answer began counts as the 500 the client gets)."""

    def __init__(self, app: ASGIApp, observer: Observer) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500
        size = 0

        async def observed_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.observer.ended(scope, status, size, started)
