"""The ASGI applications the benchmark servers run (uvicorn `--factory` targets).

Why a bare app at all: "requests per second" means nothing across machines, but "fraction of what
Starlette under the same uvicorn does when it already holds the bytes" does. The bare app answers
the same route shape with the same bytes and headers the real app produced, so the ratio isolates
what the product adds: the token lookup, the option parsing, the cache check.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core.config import Settings
from app.sandbox import create_sandbox
from app.web.access_log import AccessLog
from app.web.app import create_app
from app.web.logs import configure as configure_logging
from app.web.observe import Observe, Observer

BODY_FILE = "BENCH_BODY_FILE"
HEADERS_FILE = "BENCH_HEADERS_FILE"
MEDIA_TYPE = "text/calendar; charset=utf-8"


def airdate() -> Starlette:
    """The real service, configured from AIRDATE_* variables as `airdate serve` would be, for running
    it under uvicorn flags of the benchmark's choosing (benchmark 9 compares HTTP stacks)."""
    return create_app(Settings.from_env(dotenv=None))


def sandbox() -> Starlette:
    """The stand-in Trakt + TMDB on the real clock, so the app and the sandbox agree on "today"."""
    return create_sandbox().app


def bare() -> Starlette:
    """Serve one feed's bytes from memory: 200 with the body, or an empty 304 on its ETag."""
    return _bare([])


def bare_logged() -> Starlette:
    """The bare app plus what `airdate serve` does for every request besides the product's own work:
    its access log, configured as serve configures it, and its request counts. Its ratio to the bare
    app is the most the app's ratio can reach on the machine the benchmark runs on."""
    configure_logging("text")
    return _bare([Middleware(Observe, observer=Observer(AccessLog(), Counter()))])


def _bare(middleware: list[Middleware]) -> Starlette:
    body = Path(os.environ[BODY_FILE]).read_bytes()
    headers: dict[str, str] = json.loads(Path(os.environ[HEADERS_FILE]).read_text())
    etag = headers["ETag"]

    async def feed(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=MEDIA_TYPE, headers=headers)

    async def healthz(request: Request) -> Response:
        return Response("ok\n")

    routes = [Route("/feeds/{token}.ics", feed), Route("/healthz", healthz)]
    return Starlette(routes=routes, middleware=middleware)
