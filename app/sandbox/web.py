"""Small HTTP helpers shared by the sandbox's route modules."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or {} when the body is empty or not an object.

    OAuth endpoints then answer with their own documented errors instead of a parser crash.
    """
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def tmdb_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"status_code": code, "status_message": message, "success": False}, status_code=status
    )
