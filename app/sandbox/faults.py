"""Call recording and fault injection, wrapped around every non-control route.

Faults are applied before any handler runs, so they hit OAuth, Trakt and TMDB alike and
before authentication: a test can make the token endpoint return 503 without a valid client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp

from app.sandbox.state import REPLACING_BODIES, RESHAPING_BODIES, Call, Fault
from app.sandbox.web import tmdb_error

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

CONTROL_PREFIX = "/_sandbox"
HUGE_BYTES = 10 * 1024 * 1024
DEEP = b"[" * 100_000 + b"]" * 100_000
HANG_LIMIT = 120.0  # real seconds: a forgotten hang must not hold a test run's shutdown forever
HANG_POLL = 0.05
TRICKLE_BYTES = 16  # a trickled answer's piece
MALFORMED = b'[{"first_aired": "2026-11-2'
CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Access denied | api.trakt.tv used Cloudflare to "
    "restrict access</title></head><body><h1>Error 1015</h1><p>You are being rate limited."
    "</p><p>Cloudflare Ray ID: 0000000000000000</p></body></html>"
)


def fault_response(fault: Fault, path: str, until: datetime) -> Response:
    """The scripted answer: truncated JSON, a Cloudflare page, or an error in the API's own style.

    `until` is when a `Retry-After` runs out, for the header's date form and `X-Ratelimit`.
    """
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = (
            format_datetime(until, usegmt=True) if fault.retry_after_date else str(fault.retry_after)
        )
        if fault.status == 429:
            headers["X-Ratelimit"] = json.dumps(
                {
                    "name": "AUTHED_API_GET_LIMIT",
                    "period": 300,
                    "limit": 500,
                    "remaining": 0,
                    "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                separators=(",", ":"),
            )
    if fault.answer is not None:
        return Response(
            json.dumps(fault.answer, ensure_ascii=True),
            status_code=fault.status or 200,
            media_type="application/json",
            headers=headers,
        )
    if fault.body == "deep":
        return Response(DEEP, status_code=fault.status or 200, media_type="application/json", headers=headers)
    if fault.body == "malformed":
        return Response(
            MALFORMED, status_code=fault.status or 200, media_type="application/json", headers=headers
        )
    status = fault.status or 503
    if fault.body == "html":
        return HTMLResponse(CLOUDFLARE_PAGE, status_code=status, headers={"Server": "cloudflare", **headers})
    if path.startswith("/3/"):
        response: Response = tmdb_error(status, 46, "API under maintenance, try again later.")
    else:
        response = JSONResponse({"error": "sandbox fault", "status": status}, status_code=status)
    response.headers.update(headers)
    return response


class SandboxMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        super().__init__(app)
        self.sb = sandbox

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        arrived = self.sb.clock()
        owner = self.sb.auth.owner(request.headers.get("authorization", ""))
        user = None if owner is None else owner.slug
        fault = self.sb.take_fault(path, user)
        if fault is not None and fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault is not None and fault.hang:
            await self._hang(request)
        replaced = fault is not None and (
            fault.status is not None
            or fault.body in REPLACING_BODIES
            or fault.hang
            or fault.answer is not None
        )
        if fault is not None and replaced:
            until = arrived + timedelta(seconds=fault.retry_after or 0)
            response = fault_response(fault, path, until)
        elif fault is not None and (fault.inject is not None or fault.body in RESHAPING_BODIES):
            response = await _reshaped(await call_next(request), fault)
        else:
            response = await call_next(request)
        if fault is not None and fault.trickle_ms:
            response = await _trickled(response, fault.trickle_ms / 1000)
        self.sb.calls.append(
            Call(
                method=request.method,
                path=path,
                query=request.url.query,
                status=response.status_code,
                at=arrived,
                user_agent=request.headers.get("user-agent"),
                user=user,
            )
        )
        return response

    async def _hang(self, request: Request) -> None:
        """Answer nothing until the client goes away or the faults are cleared (or HANG_LIMIT)."""
        epoch, deadline = self.sb.fault_epoch, time.monotonic() + HANG_LIMIT
        while self.sb.fault_epoch == epoch and time.monotonic() < deadline:
            if await request.is_disconnected():
                return
            await asyncio.sleep(HANG_POLL)


async def _reshaped(response: Response, fault: Fault) -> Response:
    """The real JSON list answer, with items injected, wrapped in an object, or padded to 10 MB.

    Serialized with ASCII escapes, so injected lone surrogates travel as `\\ud800` as they would
    from an upstream that escapes them; anything but a 200 JSON list passes through unchanged.
    """
    raw = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    try:
        items = json.loads(raw)
    except ValueError:
        items = None
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
    if response.status_code != 200 or not isinstance(items, list):
        return Response(
            raw,
            status_code=response.status_code,
            headers=headers,
            media_type=response.headers.get("content-type"),
        )
    items = [*(fault.inject or []), *items]
    if fault.body == "huge":
        items.append({"padding": "x" * HUGE_BYTES})
    shaped: object = {"items": items} if fault.body == "object" else items
    return Response(json.dumps(shaped, ensure_ascii=True), headers=headers, media_type="application/json")


async def _trickled(response: Response, pause: float) -> Response:
    """The same answer, its body sent `TRICKLE_BYTES` at a time with `pause` before each piece."""
    iterator = getattr(response, "body_iterator", None)  # call_next's answers stream; scripted ones don't
    raw = bytes(response.body) if iterator is None else b"".join([chunk async for chunk in iterator])

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), TRICKLE_BYTES):
            await asyncio.sleep(pause)
            yield raw[start : start + TRICKLE_BYTES]

    return StreamingResponse(pieces(), status_code=response.status_code, headers=dict(response.headers))
