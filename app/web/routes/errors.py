"""Styled pages for unknown paths and server errors in the web app; the feed URLs stay plain.

Why the feed URLs are excluded: calendar apps read them, not people, and an unknown or revoked token
must get exactly the same small plain answer as any other miss (see routes/feeds.py), so nothing
about a feed's existence can be told from the response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.web.routes.feeds import NOT_FOUND, SERVER_ERROR
from app.web.routes.web import error_page

log = logging.getLogger(__name__)

FEEDS_PREFIX = "/feeds/"


async def not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(FEEDS_PREFIX):
        return PlainTextResponse(NOT_FOUND, status_code=404)
    headers = exc.headers if isinstance(exc, HTTPException) else None
    response = error_page(
        request,
        404,
        "Page not found",
        "There is nothing at this address. If you followed a link to your feeds, sign in again from "
        "the start page.",
        retry="/",
    )
    if headers:
        response.headers.update(headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """Unhandled errors: logged with their traceback (never a feed token: paths are not logged here)."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, _safe_path(request), exc_info=exc)
    if request.url.path.startswith(FEEDS_PREFIX):
        return PlainTextResponse(SERVER_ERROR, status_code=500)
    return error_page(
        request,
        500,
        "Something went wrong",
        "Airdate could not show this page because of an error on the server. Nothing you did caused "
        "it; please try again in a moment. Your feed URLs are not affected by this page.",
        retry="/",
    )


def _safe_path(request: Request) -> str:
    """The path for the log, with a feed token cut off: tokens are secrets and never logged."""
    path = request.url.path
    return FEEDS_PREFIX + "…" if path.startswith(FEEDS_PREFIX) else path


Handler = Callable[[Request, Exception], Awaitable[Response]]
handlers: Mapping[int | type[Exception], Handler] = {404: not_found, Exception: server_error}
