"""Request counters and memory gauges in the Prometheus text format, kept in process memory.

Why hand-rolled: a few series do not earn a metrics dependency; the format is a few lines.
"""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_GROUPS = ("feeds", "auth", "dashboard", "static", "healthz", "readyz", "metrics")


class RequestCounter:
    """ASGI middleware counting requests by path group and status code (never by full path: feed
    URLs hold secrets)."""

    def __init__(self, app: ASGIApp, counts: Counter[tuple[str, int]]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first = scope["path"].strip("/").split("/", 1)[0]
        group = first if first in _GROUPS else ("root" if first == "" else "other")

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.counts[(group, message["status"])] += 1
            await send(message)

        await self.app(scope, receive, counting_send)



def exposition(counts: Counter[tuple[str, int]], memory: tuple[int, int]) -> str:
    """Request counts, and the rendered-feed memory (entries, estimated bytes) as gauges."""
    lines = ["# TYPE airdate_http_requests_total counter"]
    for (group, status), value in sorted(counts.items()):
        lines.append(f'airdate_http_requests_total{{group="{group}",status="{status}"}} {value}')
    entries, size = memory
    lines += [
        "# TYPE airdate_feed_memory_entries gauge",
        f"airdate_feed_memory_entries {entries}",
        "# TYPE airdate_feed_memory_bytes gauge",
        f"airdate_feed_memory_bytes {size}",
    ]
    return "\n".join(lines) + "\n"
