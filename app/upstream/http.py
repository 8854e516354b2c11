"""The one retrying JSON request that every upstream client shares.

Why here and not in each client: Trakt and TMDB fail in the same ways (overloaded, rate limited,
Cloudflare pages instead of JSON, sockets that hang). Handlers upstream of the clients should only
ever decide "reconnect the user", "try later" or "serve stale", so every failure is folded into the
small set of exceptions in `app.core.errors` and no `httpx` exception leaves this module.

Messages name the method, host and path only: query strings and bodies may carry API keys, device
codes or tokens, so they never reach an exception or a log line.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import random
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from app import __version__
from app.core.clock import Clock, Sleep, utc_now
from app.core.errors import (
    BadResponse,
    RateLimited,
    Unavailable,
)

log = logging.getLogger("airdate.upstream")

Random = Callable[[], float]

USER_AGENT = f"airdate/{__version__}"  # how Airdate names itself to Trakt and TMDB, on every request

TRANSIENT_STATUSES = frozenset({502, 503, 504, 520, 521, 522})
BACKOFF_BASE = 0.25  # seconds before the first retry of a transient failure
RATE_LIMIT_BACKOFF_BASE = 30.0  # a 429 without Retry-After comes from abuse shields: back off for real
MAX_INLINE_WAIT = 2.0  # the longest Retry-After worth waiting out inside one request
MAX_RETRY_AFTER = 86400.0  # longer is read as a day: a garbled header must not mute a user for years


class Gate(Protocol):
    """Limits wider than one request (a user's, across processes): asked before every attempt.

    `admit` raises RateLimited when no call may go out now (and counts the attempt otherwise);
    `hold` hears every 429 with the seconds to stay away, so the wait applies beyond this request.
    """

    async def admit(self) -> None: ...

    async def hold(self, retry_after: float) -> None: ...


def backoff(attempt: int, base: float, rng: Random) -> float:
    """Exponential delay with jitter, so many clients that failed together do not retry together."""
    return float(base * 2**attempt * (1.0 + rng()))


def retry_after_seconds(headers: httpx.Headers, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`, or None when absent or unreadable.

    RFC 9110 allows a delay in seconds or an HTTP date; a date is measured against the injected
    clock, and one already past means "now" (0), not "absent". At most `MAX_RETRY_AFTER`.
    """
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds: float | None = float(raw)
    except ValueError:
        seconds = _seconds_until(raw, now)
    return min(seconds, MAX_RETRY_AFTER) if seconds is not None and seconds >= 0 else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no claim about the local zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    expect: Collection[int] = (),
    retries: int = 2,
    attempt_timeout: float | None = None,
    sleep: Sleep = asyncio.sleep,
    rng: Random = random.random,
    max_wait: float = MAX_INLINE_WAIT,
    clock: Clock = utc_now,
    gate: Gate | None = None,
) -> tuple[int, Any, httpx.Headers]:
    """Send one request and return (status, decoded JSON or None for an empty body, headers).

    2xx and the statuses in `expect` are returned for the caller to interpret (the device flow
    reads 400/404/409/410/418/429 as answers, not failures); everything else becomes an
    `UpstreamError`. Transient failures are retried at most `retries` times with jittered
    exponential backoff; one short `Retry-After` (<= `max_wait`) is waited out inline, since that
    is cheaper for the caller than a failed request. A `gate` admits every attempt (retries are
    calls too) and hears every 429, inline waits included. `url` must not carry secrets: it appears
    in messages, whereas `params`, `headers` and `json` never do.
    """
    where = _describe(method, url)
    waited_for_rate_limit = False
    attempt = 0
    while True:
        if gate is not None:
            await gate.admit()
        try:
            response = await _send(http, method, url, headers, json, params, attempt_timeout)
        # Timeouts (a phase's or the attempt's deadline), refused/reset connections, protocol errors.
        except (httpx.TransportError, TimeoutError) as exc:
            problem = f"{where}: {type(exc).__name__}"
            if attempt >= retries:
                raise Unavailable(f"{problem} after {attempt + 1} attempts") from None
            await _pause(sleep, backoff(attempt, BACKOFF_BASE, rng), problem)
            attempt += 1
            continue
        status = response.status_code
        if status in expect or 200 <= status < 300:
            return status, _decode(response, where, strict=200 <= status < 300), response.headers
        if status == 429:
            named = retry_after_seconds(response.headers, clock())
            retry_after = backoff(attempt, RATE_LIMIT_BACKOFF_BASE, rng) if named is None else named
            if gate is not None:
                await gate.hold(retry_after)
            if named is not None and named <= max_wait and not waited_for_rate_limit and attempt < retries:
                waited_for_rate_limit = True
                await _pause(sleep, named, f"{where}: 429")
                attempt += 1
                continue
            raise RateLimited(f"{where}: rate limited (429)", retry_after=retry_after)
        if status in TRANSIENT_STATUSES:
            if attempt >= retries:
                raise Unavailable(f"{where}: {status} after {attempt + 1} attempts", status=status)
            await _pause(sleep, backoff(attempt, BACKOFF_BASE, rng), f"{where}: {status}")
            attempt += 1
            continue
        if status >= 500:
            raise Unavailable(f"{where}: server error {status}", status=status)
        raise BadResponse(f"{where}: unexpected status {status}", status=status)


async def _send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    json: Any,
    params: Mapping[str, str] | None,
    attempt_timeout: float | None,
) -> httpx.Response:
    """One attempt; non-transport httpx failures are translated here so none can escape.

    `attempt_timeout` bounds the attempt as a whole (`asyncio.timeout`, raising TimeoutError): httpx
    would apply it to each phase apart (connect, each read, ...), and a host sending its answer a
    few bytes at a time never lets one read wait that long. The response is read in full within it,
    so a caller acting on the answer is never cut short by it.
    """
    try:
        async with asyncio.timeout(attempt_timeout):
            return await http.request(
                method,
                url,
                headers=headers,
                json=json,
                params=params,
                timeout=httpx.USE_CLIENT_DEFAULT if attempt_timeout is None else attempt_timeout,
            )
    except httpx.TransportError:
        raise
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise BadResponse(f"{_describe(method, url)}: {type(exc).__name__}") from None


def _decode(response: httpx.Response, where: str, *, strict: bool) -> Any:
    """The JSON body, None for an empty one; `strict` (success statuses) turns garbage into BadResponse.

    Non-strict bodies belong to statuses the caller interprets by code alone, where a stray HTML
    error page must not hide the status the caller is waiting for.
    """
    if not response.content.strip():
        return None
    if "html" in response.headers.get("content-type", ""):
        reason = "HTML where JSON was expected"
    else:
        try:
            return jsonlib.loads(response.content)
        except (ValueError, RecursionError):  # decode errors; nesting deeper than the decoder recurses
            reason = "malformed JSON"
    if not strict:
        return None
    raise BadResponse(f"{where}: {reason} ({response.status_code})", status=response.status_code)


async def _pause(sleep: Sleep, seconds: float, problem: str) -> None:
    log.warning("%s; retrying in %.2f s", problem, seconds)
    await sleep(seconds)


def _describe(method: str, url: str) -> str:
    """Method, host and path: never the query string, which may hold a TMDB api_key."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return f"{method} <invalid URL>"
    return f"{method} {parsed.host}{parsed.path}"
