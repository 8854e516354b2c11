"""The TMDB client against the running sandbox over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.errors import AppCredentialsRejected, BadResponse, RateLimited, TitleNotFound, Unavailable
from app.sandbox import create_sandbox
from app.upstream.tmdb import CALL_TIMEOUT, OUTAGE_REST, TmdbClient, create_tmdb
from tests.fixtures.sandbox import RunningSandbox
from tests.support.server import serve

V3_KEY = "sandbox-tmdb-token"
V4_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJzYW5kYm94In0.c2lnbmF0dXJl"


@pytest.fixture
async def requests() -> list[httpx.Request]:
    return []


@pytest.fixture
async def http(requests: list[httpx.Request]) -> AsyncIterator[httpx.AsyncClient]:
    """The one shared client; its generous default timeout shows TMDB calls bring their own."""

    async def record(request: httpx.Request) -> None:
        requests.append(request)

    async with httpx.AsyncClient(timeout=30.0, event_hooks={"request": [record]}) as client:
        yield client


def tmdb_settings(url: str, token: str | None = V3_KEY) -> Settings:
    return Settings(tmdb_api_url=url, tmdb_token=token, tmdb_image_url="https://images.example/t/p/")


@pytest.fixture
def tmdb(sandbox: RunningSandbox, http: httpx.AsyncClient) -> TmdbClient:
    client = create_tmdb(tmdb_settings(sandbox.url), http, clock=sandbox.clock, rng=lambda: 0.5)
    assert client is not None
    return client


async def fault(http: httpx.AsyncClient, sandbox: RunningSandbox, **spec: Any) -> None:
    response = await http.post(f"{sandbox.url}/_sandbox/faults", json={"prefix": "/3/", **spec})
    assert response.status_code == 200, response.text


async def test_without_a_token_there_is_no_client(http: httpx.AsyncClient) -> None:
    assert create_tmdb(tmdb_settings("http://127.0.0.1:9", token=None), http) is None


async def test_v3_key_travels_as_api_key(
    tmdb: TmdbClient, sandbox: RunningSandbox, requests: list[httpx.Request]
) -> None:
    title = next(t for t in sandbox.state.dataset().tmdb_tv.values() if t.poster_path)

    assert await tmdb.poster_path("tv", title.id) == title.poster_path
    assert requests[-1].url.params["api_key"] == V3_KEY
    assert "authorization" not in requests[-1].headers


async def test_v4_read_token_travels_as_bearer(
    http: httpx.AsyncClient, requests: list[httpx.Request]
) -> None:
    other = create_sandbox(tmdb_token=V4_TOKEN)
    title = next(t for t in other.dataset().tmdb_movies.values() if t.poster_path)
    with serve(other.app) as url:
        tmdb = create_tmdb(tmdb_settings(url, token=V4_TOKEN), http)
        assert tmdb is not None

        assert await tmdb.poster_path("movie", title.id) == title.poster_path
    assert requests[-1].headers["authorization"] == f"Bearer {V4_TOKEN}"
    assert "api_key" not in requests[-1].url.params


async def test_a_title_without_poster_is_none(tmdb: TmdbClient, sandbox: RunningSandbox) -> None:
    title = next(t for t in sandbox.state.dataset().tmdb_movies.values() if t.poster_path is None)

    assert await tmdb.poster_path("movie", title.id) is None


async def test_an_unknown_title_is_not_found(tmdb: TmdbClient, sandbox: RunningSandbox) -> None:
    known = set(sandbox.state.dataset().tmdb_tv)
    unknown = max(known) + 1

    with pytest.raises(TitleNotFound) as caught:
        await tmdb.poster_path("tv", unknown)
    assert caught.value.status == 404


async def test_find_maps_external_ids_to_tmdb_ids(tmdb: TmdbClient, sandbox: RunningSandbox) -> None:
    data = sandbox.state.dataset()
    show = next(t for t in data.tmdb_tv.values() if t.imdb_id and t.tvdb_id)
    movie = next(t for t in data.tmdb_movies.values() if t.imdb_id)
    assert show.imdb_id is not None and movie.imdb_id is not None

    assert await tmdb.find("imdb", show.imdb_id, "tv") == show.id
    assert await tmdb.find("tvdb", str(show.tvdb_id), "tv") == show.id
    assert await tmdb.find("imdb", movie.imdb_id, "movie") == movie.id
    assert await tmdb.find("imdb", show.imdb_id, "movie") is None
    assert await tmdb.find("imdb", "tt0000000", "tv") is None


async def test_rate_limit_is_reported_and_respected(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    title = next(t for t in sandbox.state.dataset().tmdb_tv.values() if t.poster_path)
    await fault(http, sandbox, status=429, retry_after=1, times=1)

    with pytest.raises(RateLimited) as caught:
        await tmdb.poster_path("tv", title.id)
    assert caught.value.retry_after == 1
    with pytest.raises(RateLimited):
        await tmdb.poster_path("tv", title.id)
    assert sandbox.state.count("/3/") == 1  # the second call never left the process

    sandbox.clock.advance(1)
    assert await tmdb.poster_path("tv", title.id) == title.poster_path


async def test_after_an_outage_tmdb_rests_before_calling_again(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    title = next(t for t in sandbox.state.dataset().tmdb_movies.values() if t.poster_path)
    await fault(http, sandbox, status=503, times=1)

    with pytest.raises(Unavailable):
        await tmdb.poster_path("movie", title.id)
    sandbox.clock.advance(OUTAGE_REST / 2)
    with pytest.raises(RateLimited) as caught:
        await tmdb.poster_path("movie", title.id)
    assert caught.value.retry_after == OUTAGE_REST / 2
    assert sandbox.state.count("/3/") == 1

    sandbox.clock.advance(OUTAGE_REST / 2)
    assert await tmdb.poster_path("movie", title.id) == title.poster_path


async def test_rate_limit_without_retry_after_backs_off(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await fault(http, sandbox, status=429)
    with pytest.raises(RateLimited) as caught:
        await tmdb.poster_path("tv", next(iter(sandbox.state.dataset().tmdb_tv)))
    assert caught.value.retry_after == 30 * 1.5


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_unavailable_without_retries(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox, status: int
) -> None:
    await fault(http, sandbox, status=status)
    with pytest.raises(Unavailable):
        await tmdb.poster_path("movie", next(iter(sandbox.state.dataset().tmdb_movies)))
    assert sandbox.state.count("/3/") == 1


async def test_garbage_is_a_bad_response(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await fault(http, sandbox, body="malformed", times=1)
    with pytest.raises(BadResponse):
        await tmdb.find("imdb", "tt0000000", "tv")


async def test_a_refused_token_is_the_installations_credentials_not_a_bad_answer(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    """A 401 is the operator's to fix (AIRDATE_TMDB_TOKEN); it was a BadResponse before it had a name."""
    await fault(http, sandbox, status=401)
    with pytest.raises(AppCredentialsRejected) as caught:
        await tmdb.find("imdb", "tt0000000", "tv")
    assert caught.value.status == 401


async def test_a_slow_tmdb_gives_up_after_its_short_timeout(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await fault(http, sandbox, delay_ms=int(CALL_TIMEOUT * 1000) + 300, times=1)
    with pytest.raises(Unavailable, match="TimeoutError after 1 attempts"):  # the deadline on the whole call
        await tmdb.poster_path("tv", next(iter(sandbox.state.dataset().tmdb_tv)))
    for _ in range(300):  # let the delayed answer land before the next test resets the sandbox
        if sandbox.state.count("/3/"):
            break
        await asyncio.sleep(0.01)
    assert sandbox.state.count("/3/") == 1


def test_image_url_uses_the_w500_poster_size(tmdb: TmdbClient) -> None:
    assert tmdb.image_url("/abc.jpg") == "https://images.example/t/p/w500/abc.jpg"


async def test_v3_key_never_reaches_logs_or_errors(
    tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await tmdb.find("imdb", "tt0000000", "tv")
    await fault(http, sandbox, status=503)
    with pytest.raises(Unavailable) as caught:
        await tmdb.find("imdb", "tt0000000", "tv")

    assert "/3/find/tt0000000" in caplog.text  # httpx did log the requests ...
    assert V3_KEY not in caplog.text  # ... with the key redacted
    assert V3_KEY not in f"{caught.value!s} {caught.value!r} {tmdb!r}"
