"""The feed URL as calendar apps see it: status codes, headers, conditional requests, options."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import sqlite3
from collections.abc import AsyncIterator, Iterator

import httpx
import icalendar
import pytest
from sqlalchemy.engine import make_url

from app.services.container import Services, open_services
from app.store.accounts import FeedInfo
from app.store.secrets import new_feed_token
from app.web.app import create_app, flush_polls
from tests.fixtures.app import RunningApp, connect, free_port
from tests.fixtures.sandbox import RunningSandbox
from tests.support.server import serve
from tests.support.settings import sandbox_settings


@pytest.fixture
def feed(running_app: RunningApp) -> tuple[RunningApp, str]:
    info = running_app.connect()
    return running_app, f"{running_app.url}/feeds/{info.token}.ics"


def test_feed_is_a_calendar_for_googles_fetcher(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    # Google's fetcher sends no Accept header and its own user agent.
    headers = {"User-Agent": "Google-Calendar-Importer", "Accept": "", "Accept-Encoding": "identity"}
    response = httpx.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "content-encoding" not in response.headers
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")
    calendar = icalendar.Calendar.from_ical(response.content)
    assert len(calendar.events) > 50
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith(" GMT")


def test_unknown_malformed_and_revoked_tokens_are_plain_404s(feed: tuple[RunningApp, str]) -> None:
    app, url = feed
    second = app.create_feed("Spare")
    spare_url = f"{app.url}/feeds/{second.token}.ics"
    assert httpx.get(spare_url).status_code == 200
    app.revoke_feed(second.id)
    rotated = app.rotate_feed(app.feeds()[0].id)
    answers = [
        httpx.get(spare_url),
        httpx.get(url),
        httpx.get(f"{app.url}/feeds/{new_feed_token()}.ics"),
        httpx.get(f"{app.url}/feeds/not-a-token.ics"),
        httpx.get(f"{app.url}/feeds/{'x' * 500}.ics"),
        httpx.get(f"{app.url}/feeds/{new_feed_token()}.json"),
    ]
    for response in answers:
        assert response.status_code == 404
        assert response.text == "Not found\n"
        assert response.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{app.url}/feeds/{rotated.token}.ics").status_code == 200


def test_same_data_gives_same_etag_and_304_only_on_exact_match(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    first = httpx.get(url)
    second = httpx.get(url)
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    revalidated = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == first.headers["etag"]
    other = httpx.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == first.content
    # If-Modified-Since alone never yields a 304: a removed event does not move Last-Modified,
    # and a wrong 304 freezes Apple subscribers.
    dated = httpx.get(url, headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert dated.status_code == 200


def test_head_has_headers_and_no_body(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    full = httpx.get(url)
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == full.headers["etag"]
    assert head.headers["content-type"] == "text/calendar; charset=utf-8"


def test_gzip_only_when_asked(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with httpx.Client() as client:
        raw = client.build_request("GET", url, headers={"Accept-Encoding": "gzip"})
        zipped = client.send(raw, stream=True)
        body = b"".join(zipped.iter_raw())
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain.content
    assert zipped.headers["vary"] == "Accept-Encoding"


def test_download_adds_attachment(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    response = httpx.get(url, params={"download": "1"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="airdate-shows-and-movies.ics"'
    assert response.content == httpx.get(url).content


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"sources": "shows,bogus"}, ["sources", "bogus", "premieres"]),
        ({"past_days": "91"}, ["past_days", "0 to 90"]),
        ({"future_days": "soon"}, ["future_days", "whole number"]),
        ({"all_day": "maybe"}, ["all_day", "true, false"]),
        ({"tz": "Mars/Olympus_Mons"}, ["tz", "IANA"]),
        ({"colour": "red"}, ["colour", "unknown option", "sources"]),
        ({"alarm": "-5"}, ["alarm", "out of range"]),
    ],
)
def test_bad_option_is_a_400_naming_it(
    feed: tuple[RunningApp, str], query: dict[str, str], names: list[str]
) -> None:
    _, url = feed
    response = httpx.get(url, params=query)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    for name in names:
        assert name in response.text


def test_query_overrides_change_the_calendar(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    default = icalendar.Calendar.from_ical(httpx.get(url).content).events
    movies_only = icalendar.Calendar.from_ical(httpx.get(url, params={"sources": "movies"}).content)
    movie_events = movies_only.events
    assert movie_events
    assert all(not hasattr(event.start, "hour") for event in movie_events)
    all_day = icalendar.Calendar.from_ical(httpx.get(url, params={"all_day": "true"}).content).events
    assert all_day and all(not hasattr(event.start, "hour") for event in all_day)
    assert len(default) > len(movie_events)


def test_json_lists_the_same_entries(feed: tuple[RunningApp, str]) -> None:
    _, url = feed
    data = httpx.get(url.removesuffix(".ics") + ".json").json()
    assert data["name"] == "Shows and movies"
    kinds = {entry["type"] for entry in data["entries"]}
    assert kinds == {"episode", "movie"}
    episode = next(entry for entry in data["entries"] if entry["type"] == "episode")
    assert episode["first_aired"].endswith("Z")


def test_health_endpoints(running_app: RunningApp) -> None:
    assert httpx.get(f"{running_app.url}/healthz").text == "ok\n"
    assert httpx.get(f"{running_app.url}/readyz").text == "ready\n"
    httpx.get(f"{running_app.url}/feeds/{new_feed_token()}.ics")
    metrics = httpx.get(f"{running_app.url}/metrics").text
    assert 'airdate_http_requests_total{group="feeds",status="404"} 1' in metrics


@contextlib.asynccontextmanager
async def _polled(
    database_url: str, sandbox: RunningSandbox, polls: int
) -> AsyncIterator[tuple[Services, int]]:
    """Services with `polls` counted, not yet written, for a signed-in user's feed (its id)."""
    settings = sandbox_settings(database_url, sandbox.url, "http://127.0.0.1:9")
    sandbox.state.config.device_interval = 0
    feed = await connect(settings, sandbox.clock)
    async with open_services(settings, clock=sandbox.clock) as services:
        for _ in range(polls):
            services.feeds.count_poll(feed.id)
        yield services, feed.id


@contextlib.contextmanager
def _write_locked(database_url: str) -> Iterator[None]:
    """Another process holding SQLite's one write lock for the block."""
    database = make_url(database_url).database
    assert database is not None
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as other_process:
        other_process.execute("BEGIN IMMEDIATE")
        yield
        other_process.execute("ROLLBACK")


async def test_poll_counts_a_failed_write_missed_go_out_with_the_next_batch(
    sqlite_database_url: str, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    async with _polled(sqlite_database_url, sandbox, polls=3) as (services, feed_id):
        with _write_locked(sqlite_database_url):
            await flush_polls(services)  # fails once the busy timeout has passed
        assert "could not record feed poll counts" in caplog.text
        services.feeds.count_poll(feed_id)
        await flush_polls(services)
        assert (await services.accounts.get_feed(feed_id)).poll_count == 4


async def test_poll_counts_of_a_flush_cut_short_by_shutdown_go_out_with_the_last_one(
    sqlite_database_url: str, sandbox: RunningSandbox
) -> None:
    """Shutdown cancels the periodic flush; if it was waiting for the write lock, its batch must be
    written by the final flush, not dropped with the cancelled task."""
    async with _polled(sqlite_database_url, sandbox, polls=7) as (services, feed_id):
        with _write_locked(sqlite_database_url):
            periodic = asyncio.ensure_future(flush_polls(services))
            await asyncio.sleep(0.5)  # waiting for the lock
            periodic.cancel()
            await asyncio.gather(periodic, return_exceptions=True)
        await flush_polls(services)  # the last flush, at shutdown
        assert (await services.accounts.get_feed(feed_id)).poll_count == 7


def test_polls_are_counted_in_memory_and_written_at_shutdown(
    database_url: str, sandbox: RunningSandbox
) -> None:
    port = free_port()
    settings = sandbox_settings(database_url, sandbox.url, f"http://127.0.0.1:{port}")
    sandbox.state.config.device_interval = 0
    feed = asyncio.run(connect(settings, sandbox.clock))
    url = f"http://127.0.0.1:{port}/feeds/{feed.token}.ics"
    with serve(create_app(settings, clock=sandbox.clock, background=False), port=port):
        for _ in range(3):
            assert httpx.get(url).status_code == 200
        assert httpx.get(url.removesuffix(".ics") + ".json").status_code == 200
        assert httpx.get(url, params={"colour": "red"}).status_code == 400

    async def stored() -> FeedInfo:
        async with open_services(settings, clock=sandbox.clock) as services:
            return await services.accounts.get_feed(feed.id)

    after = asyncio.run(stored())
    assert after.poll_count == 5
    assert after.last_polled_at == sandbox.clock()
