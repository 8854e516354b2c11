"""Our access log: one line per request, with nothing secret in it.

Why not uvicorn's: it prints the request line as sent, and a feed URL is a secret (its token is all
that stands between a stranger and a person's calendar), while `/auth/callback` carries an OAuth
code and state in its query. So the line names the matched route's template, never the path as sent:
feed requests show `/feeds/{token}.ics`, no part of any token; no query string is ever logged; a
path that matched no route shows as `-` (a mistyped feed URL is still a token). Health probes are
logged at debug, since an orchestrator polls them every few seconds.

Cheap on purpose (warm polls take well under a millisecond): with the logger off a request costs a
single level check, and with it on the route name is a constant string, never built per request.
Under `airdate serve` a request leaves only a tuple (`AccessEntry`) with the log handler, which formats
lines in bulk: a `LogRecord` and a pass through logging's handler chain per
request cost about as much as the rest of a warm poll (docs/performance.md, issue 11). Without that
handler (tests, an embedding app) each request is an ordinary record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter, time

from starlette.types import Scope

ACCESS_LOGGER = "airdate.access"
# The arguments of every access record, in order; the JSON formatter names them with these.
FIELDS = ("method", "route", "status", "duration_ms", "bytes")
FORMAT = "%s %s %d %.1fms %dB"
UNROUTED = "-"
_PROBES = frozenset({"/healthz", "/readyz"})
_FEED_PREFIX = "/feeds"

# (time.time(), level, then the values of FIELDS): all a line needs, formatted later in bulk.
AccessEntry = tuple[float, int, str, str, int, float, int]
_sink: Callable[[AccessEntry], None] | None = None


def set_sink(sink: Callable[[AccessEntry], None] | None) -> None:
    """Where requests leave their entries instead of logging a record; None: log records again."""
    global _sink
    _sink = sink


def current_sink() -> Callable[[AccessEntry], None] | None:
    """The sink in use, so that a handler being closed takes away its own and no other."""
    return _sink


def route_name(scope: Scope) -> str:
    """What the line shows for a request: the route's template, feed tokens replaced by `{token}`."""
    route = scope.get("route")
    template: str | None = getattr(route, "path", None)
    if template is None:
        return UNROUTED
    if template.startswith(_FEED_PREFIX):
        path: str = scope["path"]
        if path.endswith(".ics"):
            return "/feeds/{token}.ics"
        if path.endswith(".json"):
            return "/feeds/{token}.json"
        return "/feeds/{token}"
    return template


class AccessLog:
    """Writes one `airdate.access` line per ended HTTP request (fed by `app.web.observe`)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger(ACCESS_LOGGER)

    def ended(self, scope: Scope, status: int, size: int, started: float) -> None:
        """The request that began at `perf_counter()` == `started` answered `status`, `size` bytes."""
        level = logging.DEBUG if scope["path"] in _PROBES else logging.INFO
        if not self.log.isEnabledFor(level):
            return
        elapsed = (perf_counter() - started) * 1000.0
        sink = _sink
        if sink is not None:
            sink((time(), level, scope["method"], route_name(scope), status, elapsed, size))
            return
        args = (scope["method"], route_name(scope), status, elapsed, size)
        # makeRecord + handle, not .log(): .log() walks the stack to find its caller, which costs
        # more than the rest of the record; the caller is always this line.
        record = self.log.makeRecord(self.log.name, level, __file__, 0, FORMAT, args, None)
        self.log.handle(record)
