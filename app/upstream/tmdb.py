"""TMDB client: poster paths by TMDB id (or by IMDb/TVDB id when Trakt lacks one) and poster URLs.

Why so impatient: a poster is decoration. Every call has a short timeout and no retries, so a slow
TMDB can never hold up a feed; callers treat any `UpstreamError` as "no poster this time". After
TMDB rate-limits or fails, the client rests (answers `RateLimited` without calling) until the
Retry-After or a short outage pause has passed by the injected clock, so a feed with fifty posters
does not pay fifty timeouts while TMDB is down.

A 404 raises `TitleNotFound` rather than returning None, so the media cache can tell "TMDB has no such
title" (remember the miss) from "the title has no poster yet" (None; ask again later) and from
"TMDB is down" (other errors; don't remember anything).

Why answers are checked value by value: a JSON answer of the wrong shape (a list, a `poster_path`
that is not a path, an id that is not a positive integer) is "no poster" (logged once and counted
in the process's `DropLog`), never an error; and an external id that is not well formed is never
put in a `/3/find/` URL, where it could change the path.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from app.core.clock import Clock, utc_now
from app.core.config import Settings
from app.core.errors import AppCredentialsRejected, RateLimited, TitleNotFound, Unavailable
from app.domain.drops import DropLog
from app.domain.ids import is_external_id, positive_id
from app.upstream.http import Random, request_json

MediaType = Literal["tv", "movie"]
IdSource = Literal["imdb", "tvdb"]

CALL_TIMEOUT = 2.0  # seconds; posters must never delay a feed
OUTAGE_REST = 30.0  # seconds without TMDB calls after it timed out or failed
POSTER_SIZE = "w500"
JWT_PREFIX = "eyJ"  # base64url of '{"': how a v4 read access token starts
_API_KEY = re.compile(r"api_key=[^&\s\"']*")
_FIND_RESULTS: Mapping[MediaType, str] = {"tv": "tv_results", "movie": "movie_results"}
_POSTER_PATH = re.compile(r"/[A-Za-z0-9_-]{1,150}\.(?:jpg|jpeg|png|webp|svg)")  # fits media_cache's 200
SOURCE = "tmdb"  # the DropLog source of TMDB answers


class TmdbClient:
    """Built by `create_tmdb`; one per process, safe to share across requests."""

    def __init__(
        self,
        settings: Settings,
        token: str,
        http: httpx.AsyncClient,
        *,
        clock: Clock,
        rng: Random,
        drops: DropLog,
    ) -> None:
        self._api = settings.tmdb_api_url
        self._drops = drops
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
        """The poster path ("/abc.jpg"), None when TMDB has the title but no (usable) poster; TitleNotFound
        on 404."""
        what = f"{media_type} tmdb {tmdb_id}"
        body = await self._get(f"/3/{media_type}/{tmdb_id}")
        if not isinstance(body, dict):
            self._dropped(body, what, "details are not an object")
            return None
        poster = body.get("poster_path")
        if poster is None or (isinstance(poster, str) and _POSTER_PATH.fullmatch(poster)):
            return poster
        self._dropped(body, what, "poster_path is not a poster path")
        return None

    async def find(self, id_source: IdSource, external_id: str, media_type: MediaType) -> int | None:
        """The TMDB id for an IMDb/TVDB id, for Trakt items whose `ids.tmdb` is missing; None if unknown
        (or if `external_id` is not a well-formed id of `id_source`: then TMDB is not asked)."""
        if not is_external_id(id_source, external_id):
            return None
        what = f"{media_type} {id_source} {external_id}"
        body = await self._get(f"/3/find/{external_id}", {"external_source": f"{id_source}_id"})
        results = body.get(_FIND_RESULTS[media_type]) if isinstance(body, dict) else None
        if not isinstance(results, list):
            self._dropped(body, what, f"{_FIND_RESULTS[media_type]} is not a list")
            return None
        if not results:
            return None
        for result in results:
            raw = result.get("id") if isinstance(result, dict) else None
            if isinstance(raw, int) and positive_id(raw) is not None:
                return raw
        self._dropped(body, what, "no result has a positive integer id")
        return None

    def image_url(self, poster_path: str) -> str:
        return f"{self._images}{POSTER_SIZE}{poster_path}"

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The decoded JSON answer, of whatever shape; outages rest the client (see module doc)."""
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
                expect={401, 404},
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
        if status == 401:
            raise AppCredentialsRejected(f"TMDB {path}: token rejected (401)")
        if status == 404:
            raise TitleNotFound(f"TMDB {path}: not found", status=404)
        return body

    def _dropped(self, body: Any, what: str, reason: str) -> None:
        """A wrong-shaped answer: no poster (or no id), logged once and counted."""
        self._drops.drop(SOURCE, body, reason, ids=what)

    def _rest(self, seconds: float) -> None:
        self._rest_until = self._clock() + timedelta(seconds=seconds)


def create_tmdb(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    clock: Clock = utc_now,
    rng: Random = random.random,
    drops: DropLog | None = None,
) -> TmdbClient | None:
    """The TMDB client, or None without a token: feeds then simply carry no posters.

    No `sleep` to inject: with no retries the client never waits, it rests by the clock instead.
    """
    if not settings.tmdb_token:
        return None
    if not settings.tmdb_token.startswith(JWT_PREFIX):
        _redact_api_key_in(logging.getLogger("httpx"))
    return TmdbClient(settings, settings.tmdb_token, http, clock=clock, rng=rng, drops=drops or DropLog())


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
