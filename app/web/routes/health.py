"""Operations endpoints: liveness, readiness (the database answers), and a few counters."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from app.store.engine import ping
from app.web.metrics import exposition


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    services = request.app.state.services
    try:
        await ping(services.sessions)
    except Exception as error:  # any driver error means "not ready"; the type is not the point here
        return PlainTextResponse(f"database unavailable: {type(error).__name__}\n", status_code=503)
    return PlainTextResponse("ready\n")


async def metrics(request: Request) -> Response:
    services = request.app.state.services
    return PlainTextResponse(
        exposition(request.app.state.request_counts, services.feeds.stats(), services.drops),
        media_type="text/plain; version=0.0.4",
    )


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
]
