"""Faults suite, TMDB part: a wrong-shaped TMDB answer is no poster, never an error, and ids that
are not what Trakt documents never reach TMDB's `/3/find/` as they are.

The real client against the sandbox over loopback; the sandbox serves the scripted shapes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.domain.drops import DropLog
from app.sandbox import create_sandbox
from app.upstream.tmdb import TmdbClient, create_tmdb
from tests.fixtures.sandbox import FakeClock, RunningSandbox
from tests.support.figures import Figures
from tests.support.polling import SUITE
from tests.support.server import serve

SHOW_TMDB_ID = 1  # any id: the scripted answers stand in for TMDB's


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
def drops() -> DropLog:
    return DropLog()


@pytest.fixture
def tmdb(sandbox: RunningSandbox, http: httpx.AsyncClient, drops: DropLog) -> TmdbClient:
    return tmdb_of(sandbox, http, drops)


@pytest.fixture
def own_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox no other test shares: the session's one may still receive a straggling request from
    another test's background work, which a test counting "no request at all" must not see."""
    clock = FakeClock()
    state = create_sandbox(clock)
    with serve(state.app) as url:
        yield RunningSandbox(url=url, state=state, clock=clock)


def tmdb_of(sandbox: RunningSandbox, http: httpx.AsyncClient, drops: DropLog) -> TmdbClient:
    settings = Settings(tmdb_api_url=sandbox.url, tmdb_token="sandbox-tmdb-token")
    client = create_tmdb(settings, http, clock=sandbox.clock, drops=drops)
    assert client is not None
    return client


async def answer(http: httpx.AsyncClient, sandbox: RunningSandbox, value: Any) -> None:
    spec = {"prefix": "/3/", "answer": value, "times": 1}
    assert (await http.post(f"{sandbox.url}/_sandbox/faults", content=json.dumps(spec))).status_code == 200


WRONG_DETAILS: dict[str, Any] = {
    "a list": [{"poster_path": "/a.jpg"}],
    "a string": "poster",
    "a number": 12,
    "poster_path a number": {"id": 1, "poster_path": 5},
    "poster_path an object": {"id": 1, "poster_path": {"file": "/a.jpg"}},
    "poster_path without a slash": {"id": 1, "poster_path": "a.jpg"},
    "poster_path with a query": {"id": 1, "poster_path": "/a.jpg?x=../../"},
    "poster_path of 10 KB": {"id": 1, "poster_path": "/" + "a" * 10_000 + ".jpg"},
}


@pytest.mark.parametrize("case", WRONG_DETAILS)
async def test_a_wrong_shaped_details_answer_is_no_poster(
    case: str, tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox, drops: DropLog
) -> None:
    await answer(http, sandbox, WRONG_DETAILS[case])
    assert await tmdb.poster_path("tv", SHOW_TMDB_ID) is None
    assert drops.counts == {"tmdb": 1}


WRONG_FINDS: dict[str, Any] = {
    "a list": [],
    "results not a list": {"tv_results": {"id": 5}},
    "results of non-objects": {"tv_results": [None, 3, "x"]},
    "id a bool": {"tv_results": [{"id": True}]},
    "id negative": {"tv_results": [{"id": -5}]},
    "id a string": {"tv_results": [{"id": "5"}]},
    "id past 2^31": {"tv_results": [{"id": 2**40}]},
}


@pytest.mark.parametrize("case", WRONG_FINDS)
async def test_a_wrong_shaped_find_answer_finds_nothing(
    case: str, tmdb: TmdbClient, http: httpx.AsyncClient, sandbox: RunningSandbox, drops: DropLog
) -> None:
    await answer(http, sandbox, WRONG_FINDS[case])
    assert await tmdb.find("imdb", "tt0000001", "tv") is None
    assert drops.counts == {"tmdb": 1}


@pytest.mark.parametrize(
    "source, external",
    [
        ("imdb", ""),
        ("imdb", "{}"),
        ("imdb", "../3/movie/1"),
        ("imdb", "tt12?x=1"),
        ("tvdb", "-1"),
        ("tvdb", "0"),
        ("tvdb", "12/34"),
        ("tvdb", "tt1"),
    ],
)
async def test_ids_that_are_not_what_trakt_documents_never_reach_find(
    source: Any,
    external: str,
    own_sandbox: RunningSandbox,
    http: httpx.AsyncClient,
    drops: DropLog,
    figures: Figures,
) -> None:
    tmdb = tmdb_of(own_sandbox, http, drops)
    assert await tmdb.find(source, external, "movie") is None
    # No request at all: "../3/movie/1" would not even reach a /3/find path once URL-normalised.
    assert own_sandbox.state.calls == []
    figures.add(SUITE, "invalid external ids kept from TMDB /3/find/")


async def test_valid_answers_still_find_posters_and_ids(
    tmdb: TmdbClient, sandbox: RunningSandbox, drops: DropLog
) -> None:
    titles = sandbox.state.dataset().tmdb_tv.values()
    title = next(title for title in titles if title.poster_path and title.imdb_id)
    assert await tmdb.poster_path("tv", title.id) == title.poster_path
    assert title.imdb_id is not None
    assert await tmdb.find("imdb", title.imdb_id, "tv") == title.id
    assert drops.counts == {}
