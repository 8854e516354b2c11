"""The Trakt API calls Airdate makes with a person's token: who it belongs to, and calendar chunks.

Why a factory over the shared `httpx.AsyncClient`: one connection pool per process, and tests point
the same code at the sandbox by changing `Settings` alone. The client returns plain dataclasses and
JSON, and raises only the error family of `app.core.errors`, so callers decide "reconnect", "retry
later" or "serve stale" without ever touching HTTP. Signing in and refreshing (the auth host) are
`app.upstream.trakt_auth`'s; `TraktClient` is both halves, since they share the client id, the HTTP
client and the headers, and every caller holds the one client of its process.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from app.core.clock import Clock, Sleep, utc_now
from app.core.config import Settings
from app.core.errors import BadResponse, TokenRejected
from app.domain.options import zone_names
from app.domain.sources import Source
from app.upstream.http import Gate, Random, request_json
from app.upstream.trakt_auth import TraktAuth
from app.upstream.trakt_fields import json_object, json_str, optional_str

MAX_CALENDAR_DAYS = 33  # Trakt silently truncates longer ranges, so a longer request is a bug


@dataclass(frozen=True, slots=True)
class UserSettings:
    """Who the token belongs to, and the time zone their calendar days are cut in."""

    slug: str
    username: str
    uuid: str | None
    timezone: str
    name: str | None


class TraktClient(TraktAuth):
    """Built by `create_trakt`; one per process, safe to share across requests."""

    async def user_settings(self, access_token: str, *, gate: Gate) -> UserSettings:
        """Who the token belongs to; `gate` is its owner's limits (`UNIDENTIFIED` while signing in)."""
        body = json_object(await self._get("/users/settings", access_token, gate), "user settings")
        user = json_object(body.get("user"), "user settings .user")
        ids = json_object(user.get("ids"), "user settings .user.ids")
        account = json_object(body.get("account"), "user settings .account")
        return UserSettings(
            slug=json_str(ids, "slug"),
            username=json_str(user, "username"),
            uuid=optional_str(ids, "uuid"),
            timezone=_zone(account.get("timezone")),
            name=optional_str(user, "name"),
        )

    async def calendar(
        self,
        access_token: str,
        source: Source,
        start: date,
        days: int,
        *,
        gate: Gate,
        ignore_watched: bool = False,
    ) -> list[Any]:
        """One calendar chunk of at most 33 days.

        A 401 raises TokenRejected: call this through `ConnectionService.call`, which refreshes the
        token once and retries once; only a refused refresh means the user must reconnect. `gate` is
        the user's limits (`TraktLimits.gate`): every attempt is admitted by it, every 429 recorded
        in it, so no process calls Trakt for this user before the time Trakt named. Only the list
        itself is checked: its items are Trakt's raw JSON, checked one by one when parsed, so one
        item that is not an object costs that item and not the chunk.
        """
        if not 1 <= days <= MAX_CALENDAR_DAYS:
            raise ValueError(f"days must be 1..{MAX_CALENDAR_DAYS}, got {days}")
        params = {"extended": "full"}
        if ignore_watched:
            params["ignore_watched"] = "true"
        path = f"/calendars/my/{source.trakt_path}/{start:%Y-%m-%d}/{days}"
        body = await self._get(path, access_token, gate, params)
        if not isinstance(body, list):
            raise BadResponse(f"GET {path}: expected a JSON list")
        return body

    async def _get(
        self, path: str, access_token: str, gate: Gate, params: Mapping[str, str] | None = None
    ) -> Any:
        status, body, _ = await request_json(
            self._http,
            "GET",
            self._api + path,
            headers=self._headers(access_token),
            params=params,
            expect={401},
            sleep=self._sleep,
            rng=self._rng,
            clock=self._clock,
            gate=gate,
        )
        if status == 401:
            raise TokenRejected(f"GET {path}: Trakt rejected the access token (401)")
        return body


def create_trakt(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    clock: Clock = utc_now,
    sleep: Sleep = asyncio.sleep,
    rng: Random = random.random,
) -> TraktClient:
    """The Trakt client for this process; raises ConfigError when no client id is configured."""
    return TraktClient(settings, http, clock=clock, sleep=sleep, rng=rng)


def _zone(value: Any) -> str:
    """The account's IANA time zone; one this machine does not know (or not a string) is UTC, since
    every feed's window is computed in it and a made-up zone would break them all."""
    return value if isinstance(value, str) and value in zone_names() else "UTC"
