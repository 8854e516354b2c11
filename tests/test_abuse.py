"""Abuse: forged feed URLs, malformed queries and wrong methods get plain, identical refusals.

What a stranger can do with a feed URL is guess it. Every guess must cost the same and answer the
same (one 404 body), write nothing and hold no memory; junk options are a 400 that names the
option and lists exactly what is accepted, never a 500 and never a silent fallback.
"""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.app import RunningApp

NOT_FOUND = "Not found\n"


@pytest.fixture
def feed(running_app: RunningApp) -> tuple[RunningApp, str]:
    info = running_app.connect()
    return running_app, f"{running_app.url}/feeds/{info.token}"


def test_every_feed_path_miss_is_the_feed_404(feed: tuple[RunningApp, str]) -> None:
    app, base = feed
    token = base.rsplit("/", 1)[1]
    misses = [
        "/feeds/..%2fetc%2fpasswd.ics",
        "/feeds/..%2F..%2Fetc%2Fpasswd.json",
        f"/feeds/{token}.ics%0a",
        f"/feeds/{token}.ics%00",
        f"/feeds/{token}.json%0d%0a",
        f"/feeds/{token}.txt",
        f"/feeds/{token}",
        f"/feeds/{token}/.ics",
        f"/feeds/a%0a{token}.ics",
        "/feeds/.ics",
        "/feeds/",
        "/feeds",
    ]
    for path in misses:
        response = httpx.get(app.url + path)
        assert (path, response.status_code, response.text) == (path, 404, NOT_FOUND)
        assert response.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{base}.ics").status_code == 200


@pytest.mark.parametrize(
    ("query", "option", "accepted"),
    [
        ("past_days=1_0", "past_days", "a whole number from 0 to 90"),
        ("past_days=%2B5", "past_days", "a whole number from 0 to 90"),
        ("future_days=%EF%BC%91", "future_days", "a whole number from 0 to 365"),
        ("past_days=%205", "past_days", "a whole number from 0 to 90"),
        ("alarm=%D9%A3", "alarm", "a whole number of minutes from 0 to 10080"),
        ("all_day=yes", "all_day", "allowed: true, false, 1, 0"),
        ("group=on", "group", "allowed: true, false, 1, 0"),
        ("specials=TRUE", "specials", "allowed: true, false, 1, 0"),
        ("download=yes", "download", "allowed: true, false, 1, 0"),
        ("sources=shows&sources=movies", "sources", "more than once"),
        ("past_days=1&past_days=1", "past_days", "more than once"),
        ("colour=red", "colour", "allowed: alarm, all_day, download, future_days"),
    ],
)
def test_lenient_input_is_a_400_listing_what_is_accepted(
    feed: tuple[RunningApp, str], query: str, option: str, accepted: str
) -> None:
    _, base = feed
    for suffix in (".ics", ".json"):
        response = httpx.get(f"{base}{suffix}?{query}")
        assert response.status_code == 400, (query, response.text)
        assert response.text.startswith(f"Bad feed option {option}: ")
        assert accepted in response.text
