"""Trakt's OAuth endpoints (auth.trakt.tv): device flow, authorization code + PKCE, refresh, revoke.

Client credentials arrive in the JSON body, never HTTP Basic, as auth.trakt.tv requires.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.sandbox.state import AuthCode, DeviceCode
from app.sandbox.web import json_body, oauth_error

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

DEVICE_CODE_TTL = 600


def s256(verifier: str) -> str:
    """PKCE S256 challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


class OAuth:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/device/code", self.device_code, methods=["POST"]),
            Route("/oauth/device/token", self.device_token, methods=["POST"]),
            Route("/oauth/authorize", self.authorize, methods=["GET"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
            Route("/activate", self.activate, methods=["GET"]),
        ]

    def _client_error(self, body: dict[str, Any]) -> Response | None:
        """Reject a wrong client_id, or a client_secret that is sent but wrong (it is optional)."""
        secret = body.get("client_secret")
        if body.get("client_id") != self.sb.client_id or (
            secret is not None and secret != self.sb.client_secret
        ):
            return oauth_error(401, "invalid_client", "client authentication failed")
        return None

    async def device_code(self, request: Request) -> Response:
        body = await json_body(request)
        if body.get("client_id") != self.sb.client_id:
            return oauth_error(401, "invalid_client", "unknown client_id")
        code = DeviceCode(
            device_code=secrets.token_hex(32),
            user_code=secrets.token_hex(4).upper(),
            created_at=self.sb.clock(),
        )
        self.sb.auth.device_codes[code.device_code] = code
        return JSONResponse(
            {
                "device_code": code.device_code,
                "user_code": code.user_code,
                "verification_url": str(request.base_url).rstrip("/") + "/activate",
                "expires_in": DEVICE_CODE_TTL,
                "interval": self.sb.config.device_interval,
            }
        )

    async def device_token(self, request: Request) -> Response:
        """Status codes as documented: 400 pending, 404, 409, 410, 418, 429, 200."""
        body = await json_body(request)
        if (error := self._client_error(body)) is not None:
            return error
        code = self.sb.auth.device_codes.get(str(body.get("code")))
        if code is None:
            return Response(status_code=404)
        if code.used:
            return Response(status_code=409)
        now = self.sb.clock()
        config = self.sb.config
        if now >= code.created_at + timedelta(seconds=DEVICE_CODE_TTL):
            return Response(status_code=410)
        too_fast = code.last_poll is not None and now - code.last_poll < timedelta(
            seconds=config.device_interval
        )
        code.last_poll = now
        if config.enforce_interval and too_fast:
            return Response(status_code=429)
        code.polls += 1
        if code.polls == 1:
            return JSONResponse({"error": "authorization_pending"}, status_code=400)
        if config.device_outcome == "expire":
            return Response(status_code=410)
        if config.device_outcome == "deny":
            return Response(status_code=418)
        code.used = True
        user = self.sb.auth.claim_user(config)
        return JSONResponse(self.sb.auth.issue(user, now, config.access_token_ttl).as_json())

    async def authorize(self, request: Request) -> Response:
        """Auto-approve, but insist on PKCE S256 like Trakt's 2026 auth stack does."""
        query = request.query_params
        redirect_uri = query.get("redirect_uri")
        if query.get("client_id") != self.sb.client_id:
            return oauth_error(401, "invalid_client", "unknown client_id")
        if not redirect_uri:
            return oauth_error(400, "invalid_request", "redirect_uri is required")
        state = {"state": query["state"]} if "state" in query else {}
        if query.get("response_type") != "code":
            return RedirectResponse(
                _with_query(redirect_uri, {"error": "unsupported_response_type", **state}), status_code=302
            )
        challenge = query.get("code_challenge")
        if not challenge or query.get("code_challenge_method") != "S256":
            return RedirectResponse(
                _with_query(
                    redirect_uri,
                    {
                        "error": "invalid_request",
                        "error_description": "pkce is required when requesting offline_access scope",
                        **state,
                    },
                ),
                status_code=302,
            )
        code = secrets.token_hex(16)
        self.sb.auth.auth_codes[code] = AuthCode(
            client_id=self.sb.client_id,
            redirect_uri=redirect_uri,
            challenge=challenge,
            user=self.sb.auth.claim_user(self.sb.config),
        )
        return RedirectResponse(_with_query(redirect_uri, {"code": code, **state}), status_code=302)

    async def token(self, request: Request) -> Response:
        body = await json_body(request)
        if (error := self._client_error(body)) is not None:
            return error
        now = self.sb.clock()
        ttl = self.sb.config.access_token_ttl
        grant = body.get("grant_type")
        if grant == "authorization_code":
            code = self.sb.auth.auth_codes.pop(str(body.get("code")), None)
            verifier = body.get("code_verifier")
            if (
                code is None
                or body.get("redirect_uri") != code.redirect_uri
                or not isinstance(verifier, str)
                or s256(verifier) != code.challenge
            ):
                return oauth_error(400, "invalid_grant", "invalid authorization code or verifier")
            return JSONResponse(self.sb.auth.issue(code.user, now, ttl).as_json())
        if grant == "refresh_token":
            token = self.sb.auth.refresh(str(body.get("refresh_token")), now, ttl)
            if token is None:
                return oauth_error(400, "invalid_grant", "session not found")
            return JSONResponse(token.as_json())
        return oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} not supported")

    async def revoke(self, request: Request) -> Response:
        body = await json_body(request)
        if (error := self._client_error(body)) is not None:
            return error
        self.sb.auth.revoke(str(body.get("token")))
        return JSONResponse({})

    async def activate(self, request: Request) -> Response:
        """Where `verification_url` points: the sandbox approves codes by itself."""
        return HTMLResponse(
            "<!doctype html><title>Sandbox activation</title>"
            "<p>This is the Airdate sandbox: device codes are approved automatically.</p>"
        )
