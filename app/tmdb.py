"""TMDB client: poster paths by TMDB id (or by IMDb/TVDB id when Trakt lacks one) and poster URLs.

Why so impatient: a poster is decoration. Every call has a short timeout and no retries, so a slow
TMDB can never hold up a feed; callers treat any `UpstreamError` as "no poster this time". After
TMDB rate-limits or fails, the client rests (answers `RateLimited` without calling) until the
Retry-After or a short outage pause has passed by the injected clock, so a feed with fifty posters
does not pay fifty timeouts while TMDB is down.

A 404 raises `NotFound` rather than returning None, so the media cache can tell "TMDB has no such
title" (remember the miss) from "the title has no poster yet" (None; ask again later) and from
"TMDB is down" (other errors; don't remember anything).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from app.clock import Clock, utc_now
from app.config import Settings
from app.upstream import (
    BadResponse,
    Random,
    RateLimited,
    Unavailable,
    UpstreamError,
    request_json,
)

MediaType = Literal["tv", "movie"]
IdSource = Literal["imdb", "tvdb"]

CALL_TIMEOUT = 2.0  # seconds; posters must never delay a feed
OUTAGE_REST = 30.0  # seconds without TMDB calls after it timed out or failed
POSTER_SIZE = "w500"
JWT_PREFIX = "eyJ"  # base64url of '{"': how a v4 read access token starts
_API_KEY = re.compile(r"api_key=[^&\s\"']*")
_FIND_RESULTS: Mapping[MediaType, str] = {"tv": "tv_results", "movie": "movie_results"}


class NotFound(UpstreamError):
    """TMDB does not know this id: a miss worth remembering, unlike an outage."""


class TmdbClient:
    """Built by `create_tmdb`; one per process, safe to share across requests."""

    def __init__(
        self, settings: Settings, token: str, http: httpx.AsyncClient, *, clock: Clock, rng: Random
    ) -> None:
        self._api = settings.tmdb_api_url
        self._images = settings.tmdb_image_url
        self._http = http
        self._clock = clock
        self._rng = rng
        self._rest_until: datetime | None = None
        # A v4 read access token is a JWT, sent as a Bearer; anything else is a v3 api_key.
        if token.startswith(JWT_PREFIX):
            self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            self._auth_params: dict[str, str] = {}
        else:
            self._headers = {"Accept": "application/json"}
            self._auth_params = {"api_key": token}

    def __repr__(self) -> str:
        return f"TmdbClient(api={self._api!r})"

    async def poster_path(self, media_type: MediaType, tmdb_id: int) -> str | None:
        """The poster path ("/abc.jpg"), None when TMDB has the title but no poster; NotFound on 404."""
        body = await self._get(f"/3/{media_type}/{tmdb_id}")
        poster = body.get("poster_path")
        if poster is None or (isinstance(poster, str) and poster.startswith("/")):
            return poster
        raise BadResponse(f"TMDB /3/{media_type}/{tmdb_id}: poster_path is not a path")

    async def find(self, id_source: IdSource, external_id: str, media_type: MediaType) -> int | None:
        """The TMDB id for an IMDb/TVDB id, for Trakt items whose `ids.tmdb` is missing; None if unknown."""
        body = await self._get(f"/3/find/{external_id}", {"external_source": f"{id_source}_id"})
        results = body.get(_FIND_RESULTS[media_type])
        if not isinstance(results, list):
            raise BadResponse(f"TMDB find: {_FIND_RESULTS[media_type]} is not a list")
        for result in results:
            if isinstance(result, dict) and isinstance(result.get("id"), int):
                found: int = result["id"]
                return found
        return None

    def image_url(self, poster_path: str) -> str:
        return f"{self._images}{POSTER_SIZE}{poster_path}"

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        now = self._clock()
        if self._rest_until is not None and now < self._rest_until:
            left = (self._rest_until - now).total_seconds()
            raise RateLimited(f"TMDB {path}: resting after TMDB trouble", retry_after=left, status=None)
        try:
            status, body, _ = await request_json(
                self._http,
                "GET",
                self._api + path,
                headers=self._headers,
                params={**(params or {}), **self._auth_params},
                expect={404},
                retries=0,
                attempt_timeout=CALL_TIMEOUT,
                rng=self._rng,
                clock=self._clock,
            )
        except RateLimited as exc:
            self._rest(exc.retry_after)
            raise
        except Unavailable:
            self._rest(OUTAGE_REST)
            raise
        if status == 404:
            raise NotFound(f"TMDB {path}: not found", status=404)
        if not isinstance(body, dict):
            raise BadResponse(f"TMDB {path}: expected a JSON object")
        return body

    def _rest(self, seconds: float) -> None:
        self._rest_until = self._clock() + timedelta(seconds=seconds)


def create_tmdb(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    clock: Clock = utc_now,
    rng: Random = random.random,
) -> TmdbClient | None:
    """The TMDB client, or None without a token: feeds then simply carry no posters.

    No `sleep` to inject: with no retries the client never waits, it rests by the clock instead.
    """
    if not settings.tmdb_token:
        return None
    if not settings.tmdb_token.startswith(JWT_PREFIX):
        _redact_api_key_in(logging.getLogger("httpx"))
    return TmdbClient(settings, settings.tmdb_token, http, clock=clock, rng=rng)


class _RedactApiKey(logging.Filter):
    """httpx logs every request URL at INFO, and a v3 TMDB key travels in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg = _API_KEY.sub("api_key=[redacted]", message)
            record.args = ()
        return True


def _redact_api_key_in(logger: logging.Logger) -> None:
    if not any(isinstance(existing, _RedactApiKey) for existing in logger.filters):
        logger.addFilter(_RedactApiKey())
