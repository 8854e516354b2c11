"""The `/_sandbox/*` control API: the same switches as the Python methods, over HTTP.

Benchmarks and the `airdate demo` process drive a sandbox they did not construct in-process,
so every switch a test can flip in Python is reachable here too. Bad input answers 400 with
the reason, so a mistyped fault never silently does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.shapes import dataset_json

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

Handler = Callable[[Request], Awaitable[Response]]


def _bad_input(handler: Handler) -> Handler:
    """Turn validation errors of a control call into 400 responses carrying the message."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return wrapped


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw else {}


class Control:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def routes(self) -> list[Route]:
        post = ["POST"]
        return [
            Route("/_sandbox/calls", self.calls, methods=["GET"]),
            Route("/_sandbox/count", self.count, methods=["GET"]),
            Route("/_sandbox/dataset", self.dataset, methods=["GET"]),
            Route("/_sandbox/users", self.users, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=post),
            Route("/_sandbox/faults", _bad_input(self.faults), methods=["POST", "DELETE"]),
            Route("/_sandbox/config", _bad_input(self.config), methods=post),
            Route("/_sandbox/revoke_user", _bad_input(self.revoke_user), methods=post),
            Route("/_sandbox/invalidate_access", _bad_input(self.invalidate_access), methods=post),
            Route("/_sandbox/refreshes", _bad_input(self.refreshes), methods=["GET"]),
            Route("/_sandbox/overrides", _bad_input(self.override), methods=post),
            Route("/_sandbox/drop_grow", _bad_input(self.drop_grow), methods=post),
            Route("/_sandbox/drop_shrink", _bad_input(self.drop_shrink), methods=post),
        ]

    async def calls(self, request: Request) -> Response:
        prefix = request.query_params.get("prefix", "")
        return JSONResponse({"calls": [c.as_json() for c in self.sb.calls if c.path.startswith(prefix)]})

    async def count(self, request: Request) -> Response:
        query = request.query_params
        return JSONResponse({"count": self.sb.count(query.get("prefix", ""), query.get("user"))})

    async def dataset(self, request: Request) -> Response:
        return JSONResponse(dataset_json(self.sb.dataset()))

    async def users(self, request: Request) -> Response:
        auth = self.sb.auth
        return JSONResponse(
            {
                "users": [
                    {
                        "slug": u.slug,
                        "username": u.username,
                        "timezone": u.timezone,
                        "refreshes": auth.refreshes.get(u.slug, 0),
                        "active_tokens": sum(
                            1 for t in auth.tokens.values() if t.user.slug == u.slug and t.valid
                        ),
                    }
                    for u in auth.users.values()
                ]
            }
        )

    async def reset(self, request: Request) -> Response:
        self.sb.reset()
        return JSONResponse({"ok": True})

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sb.clear_faults()
        else:
            body = await _json(request)
            self.sb.add_faults(body if isinstance(body, list) else [body])
        return JSONResponse({"faults": len(self.sb.faults)})

    async def config(self, request: Request) -> Response:
        self.sb.configure(await _json(request))
        return JSONResponse({"ok": True})

    async def revoke_user(self, request: Request) -> Response:
        body = await _json(request)
        return JSONResponse({"revoked": self.sb.auth.revoke_user(str(body["slug"]))})

    async def invalidate_access(self, request: Request) -> Response:
        """401 on every current access token of the user, although none has expired; refresh works."""
        body = await _json(request)
        return JSONResponse({"invalidated": self.sb.auth.invalidate_access(str(body["slug"]))})

    async def refreshes(self, request: Request) -> Response:
        """Every refresh token spent, in order: when (sandbox clock), whose, which token for which.

        `?after=N&wait=S` answers as soon as there are more than N (or after S seconds, at most 30):
        a test can act within a millisecond or so of a spend without hammering the sandbox.
        """
        query = request.query_params
        after, wait = int(query.get("after", "-1")), min(float(query.get("wait", "0")), 30.0)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait
        while len(self.sb.auth.spends) <= after and loop.time() < give_up:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sb.auth.spent_signal.wait(), give_up - loop.time())
        return JSONResponse({"refreshes": [spend.as_json() for spend in self.sb.auth.spends]})

    async def override(self, request: Request) -> Response:
        body = await _json(request)
        self.sb.override(str(body["kind"]), int(body["trakt_id"]), dict(body["fields"]))
        return JSONResponse({"ok": True})

    async def drop_grow(self, request: Request) -> Response:
        body = await _json(request)
        return JSONResponse({"episodes": self.sb.resize_drop(int(body["show_trakt_id"]), 1)})

    async def drop_shrink(self, request: Request) -> Response:
        body = await _json(request)
        return JSONResponse({"episodes": self.sb.resize_drop(int(body["show_trakt_id"]), -1)})
