"""Signing in with Trakt and keeping the grant alive, on Trakt's auth host: the device code flow, the
authorization code with PKCE, the single-use refresh, and revocation.

Why apart from the API calls (`app.upstream.trakt`): these are OAuth's rules (RFC 8628's polling and
slow-down, RFC 7636's verifier, Trakt's `invalid_grant` and `invalid_client`), and they decide what a
failure means for the person: `AuthRevoked` (sign in again) or `AppCredentialsRejected` (the operator's
client id or secret). The API half only ever sees a token.

Tokens, refresh tokens and device codes never appear in reprs, log lines or exception messages.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from app.core.clock import Clock, Sleep
from app.core.config import Settings
from app.core.errors import AppCredentialsRejected, AuthRevoked, DeviceFlowError, DeviceFlowReason
from app.upstream.http import USER_AGENT, Random, request_json
from app.upstream.trakt_fields import json_int, json_object, json_str

SLOW_DOWN_STEP = 5  # seconds added to the device poll interval on 429, as RFC 8628 asks
CALLBACK_PATH = "/auth/callback"  # where the web sign-in lands; the Trakt app must list this URI


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a token grant returns; persist both tokens together, the refresh token is single-use."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    created_at: int
    expires_in: int

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_at + self.expires_in, UTC)


@dataclass(frozen=True, slots=True)
class DeviceCode:
    """A device sign-in in progress: show `user_code` and `verification_url`, keep `device_code` secret."""

    device_code: str = field(repr=False)
    user_code: str
    verification_url: str
    expires_in: int
    interval: int


_DEVICE_ENDINGS: Mapping[int, DeviceFlowReason] = {
    404: "invalid_code",
    409: "already_used",
    410: "expired",
    418: "denied",
}


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge): Trakt's auth stack refuses sign-ins without one."""
    verifier = secrets.token_urlsafe(64)  # 86 chars of [A-Za-z0-9_-], inside RFC 7636's 43..128
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class TraktAuth:
    """The auth host's half of `TraktClient`, which adds the API calls; it also keeps what both halves
    share (the client id, both hosts, the HTTP client, the headers). One per process, shared."""

    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, *, clock: Clock, sleep: Sleep, rng: Random
    ) -> None:
        self._client_id = settings.require_trakt()
        self._client_secret = settings.trakt_client_secret
        self._api = settings.trakt_api_url
        self._auth = settings.trakt_auth_url
        self.redirect_uri = settings.public_url + CALLBACK_PATH
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._rng = rng

    # -- device code flow -------------------------------------------------------------------

    async def device_code(self) -> DeviceCode:
        _, body, _ = await self._oauth("/oauth/device/code", {"client_id": self._client_id})
        obj = json_object(body, "device code")
        return DeviceCode(
            device_code=json_str(obj, "device_code"),
            user_code=json_str(obj, "user_code"),
            verification_url=json_str(obj, "verification_url"),
            expires_in=json_int(obj, "expires_in"),
            interval=json_int(obj, "interval"),
        )

    async def wait_for_device_token(
        self, code: DeviceCode, *, on_wait: Callable[[], None] | None = None
    ) -> TokenSet:
        """Poll every `interval` seconds (longer after a 429) until approved, refused or expired.

        Expiry is judged by the injected clock, so a test can jump past `expires_in` without waiting.
        """
        deadline = self._clock() + timedelta(seconds=code.expires_in)
        interval = code.interval
        while True:
            await self._sleep(interval)
            if self._clock() >= deadline:
                raise DeviceFlowError("expired")
            status, tokens = await self._poll(code.device_code)
            if tokens is not None:
                return tokens
            if status == 429:
                interval += SLOW_DOWN_STEP
            if on_wait is not None:
                on_wait()

    async def _poll(self, device_code: str) -> tuple[int, TokenSet | None]:
        status, body, _ = await self._oauth(
            "/oauth/device/token",
            self._with_secret({"code": device_code, "client_id": self._client_id}),
            expect={400, 429, *_DEVICE_ENDINGS},
        )
        if status in _DEVICE_ENDINGS:
            raise DeviceFlowError(_DEVICE_ENDINGS[status])
        if status in (400, 429):
            return status, None
        return status, _token_set(body)

    # -- authorization code flow with PKCE ----------------------------------------------------

    def authorize_url(self, *, state: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self._auth}/oauth/authorize?{query}"

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        """Trade the callback's code for tokens; a stale or replayed code is AuthRevoked.

        No client secret here: Trakt's PKCE guide says the verifier replaces it for this exchange.
        """
        return await self._grant(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
            },
            with_secret=False,
        )

    async def refresh(
        self, refresh_token: str, *, redirect_uri: str | None = None, single_attempt: float | None = None
    ) -> TokenSet:
        """Rotate tokens. The old refresh token is dead afterwards: store the result before anything else.

        `redirect_uri` is part of Trakt's refresh schema; it defaults to this app's web callback.
        `single_attempt` makes it one attempt bounded by that many seconds, for a caller that holds a database
        write lock meanwhile (and a retry after a lost answer would only be refused: the token is spent).
        The bound is a deadline on the whole call, answer read in full; one that passes after Trakt spent
        the token but before its answer arrived loses that answer, as any timeout would.
        """
        return await self._grant(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "redirect_uri": redirect_uri or self.redirect_uri,
            },
            single_attempt=single_attempt,
        )

    async def revoke(self, access_token: str) -> None:
        await self._oauth(
            "/oauth/revoke", self._with_secret({"token": access_token, "client_id": self._client_id})
        )

    async def _grant(
        self, body: dict[str, str], *, with_secret: bool = True, single_attempt: float | None = None
    ) -> TokenSet:
        body = {**body, "client_id": self._client_id}
        status, answer, _ = await self._oauth(
            "/oauth/token",
            self._with_secret(body) if with_secret else body,
            expect={400, 401},
            single_attempt=single_attempt,
        )
        if status in (400, 401):
            raise AuthRevoked(f"Trakt refused the grant ({_oauth_error(answer) or status})", status=status)
        return _token_set(answer)

    # -- plumbing ------------------------------------------------------------------------------

    async def _oauth(
        self,
        path: str,
        body: Mapping[str, str],
        *,
        expect: Collection[int] = (),
        single_attempt: float | None = None,
    ) -> tuple[int, Any, httpx.Headers]:
        """POST to the auth host; `invalid_client` is the operator's problem, never the user's grant.

        `single_attempt` means one attempt bounded by that many seconds; without it, transient failures
        are retried.
        """
        status, answer, headers = await request_json(
            self._http,
            "POST",
            self._auth + path,
            headers=self._headers(None),
            json=dict(body),
            expect={*expect, 401},
            retries=2 if single_attempt is None else 0,
            attempt_timeout=single_attempt,
            sleep=self._sleep,
            rng=self._rng,
            clock=self._clock,
        )
        if status == 401 and (401 not in expect or _oauth_error(answer) == "invalid_client"):
            raise AppCredentialsRejected(f"POST {path}: Trakt rejected this app's client id or secret (401)")
        return status, answer, headers

    def _headers(self, access_token: str | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "trakt-api-key": self._client_id,
            "trakt-api-version": "2",
        }
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        return headers

    def _with_secret(self, body: dict[str, str]) -> dict[str, str]:
        """Add the (deprecated, still accepted) client secret when the operator configured one."""
        if self._client_secret:
            body["client_secret"] = self._client_secret
        return body


def _token_set(body: Any) -> TokenSet:
    obj = json_object(body, "token response")
    return TokenSet(
        access_token=json_str(obj, "access_token"),
        refresh_token=json_str(obj, "refresh_token"),
        created_at=json_int(obj, "created_at"),
        expires_in=json_int(obj, "expires_in"),
    )


def _oauth_error(answer: Any) -> str | None:
    """The OAuth `error` code (invalid_grant, invalid_client, ...) of an error body, if any."""
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, str) else None
