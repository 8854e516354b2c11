"""The feed stays there: warm polls cost Trakt nothing, stale data is served while it refreshes,
outages and revoked grants keep the last good calendar, with a notice when it matters.

These drive the real app over HTTP with the sandbox's fault switches and its movable clock.
"""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from app.feeds.calendar.freshness import FAR_FACTOR
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.support.waiting import eventually_blocking

HOUR = 3600


def summaries(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [str(event["SUMMARY"]) for event in icalendar.Calendar.from_ical(response.content).walk("VEVENT")]


def settle(sandbox: RunningSandbox, quiet: float = 1.0, timeout: float = 20.0) -> int:
    """Wait until the app's background calls to Trakt have stopped; return how many there were."""
    deadline = time.monotonic() + timeout
    seen, since = sandbox.state.count("/calendars"), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "background calls to Trakt did not settle"
        time.sleep(0.05)
        now = sandbox.state.count("/calendars")
        if now != seen:
            seen, since = now, time.monotonic()
    return seen


@pytest.fixture
def feed_url(running_app: RunningApp) -> str:
    return f"{running_app.url}/feeds/{running_app.connect().token}.ics"


def fault(sandbox: RunningSandbox, **switch: object) -> None:
    assert httpx.post(f"{sandbox.url}/_sandbox/faults", json=switch).status_code == 200


def test_warm_polls_cost_trakt_and_tmdb_nothing(feed_url: str, sandbox: RunningSandbox) -> None:
    first = httpx.get(feed_url)
    trakt, tmdb = sandbox.state.count("/calendars"), sandbox.state.count("/3/")
    assert trakt > 0 and tmdb > 0
    for _ in range(20):
        assert httpx.get(feed_url).content == first.content
    assert (sandbox.state.count("/calendars"), sandbox.state.count("/3/")) == (trakt, tmdb)


def test_stale_is_served_at_once_and_refreshed_behind(feed_url: str, sandbox: RunningSandbox) -> None:
    before = summaries(httpx.get(feed_url))
    calls = sandbox.state.count("/calendars")
    sandbox.clock.advance(seconds=FAR_FACTOR * HOUR + 60)  # every chunk stale, far-future ones too
    fault(sandbox, prefix="/calendars", delay_ms=8000, times=calls)
    started = time.monotonic()
    during = summaries(httpx.get(feed_url, timeout=30))
    assert time.monotonic() - started < 5.0  # answered from the stale cache, not after Trakt's 8 s
    assert during == before
    eventually_blocking(
        lambda: sandbox.state.count("/calendars") == 2 * calls, "the refresh behind the answer", within=30
    )


def test_trakt_down_for_hours_keeps_the_last_good_calendar(feed_url: str, sandbox: RunningSandbox) -> None:
    before = summaries(httpx.get(feed_url))
    fault(sandbox, prefix="/calendars", status=503)
    for hours in (2, 4, 24, 24 * 4):  # 126 hours in all: within the week of stale-if-error
        sandbox.clock.advance(seconds=hours * HOUR)
        response = httpx.get(feed_url)
        assert response.status_code == 200
        assert set(before) - set(summaries(response)) <= set(before)
        assert summaries(response), "never an empty calendar while a last good one exists"


def test_past_seven_days_of_outage_says_so_in_the_calendar(feed_url: str, sandbox: RunningSandbox) -> None:
    summaries(httpx.get(feed_url))
    fault(sandbox, prefix="/calendars", status=503)
    sandbox.clock.advance(seconds=HOUR + 60)
    assert summaries(httpx.get(feed_url))  # failing starts being recorded here
    settle(sandbox)
    sandbox.clock.advance(days=8)
    after = summaries(httpx.get(feed_url))
    assert "Airdate: Trakt unreachable, calendar may be incomplete" in after


def test_429_with_retry_after_is_honoured(feed_url: str, sandbox: RunningSandbox) -> None:
    before = summaries(httpx.get(feed_url))
    fault(sandbox, prefix="/calendars", status=429, retry_after=900)
    sandbox.clock.advance(seconds=HOUR + 60)
    assert summaries(httpx.get(feed_url)) == before
    limited = settle(sandbox)
    assert any(call.status == 429 for call in sandbox.state.calls)
    sandbox.clock.advance(seconds=300)  # still inside Retry-After: no call may be made
    assert summaries(httpx.get(feed_url)) == before
    time.sleep(0.3)
    assert sandbox.state.count("/calendars") == limited
    httpx.delete(f"{sandbox.url}/_sandbox/faults")
    sandbox.clock.advance(seconds=700)  # past it: the feed refreshes again
    summaries(httpx.get(feed_url))
    eventually_blocking(lambda: sandbox.state.count("/calendars") > limited, "the next refresh", within=10)


def test_a_revoked_grant_keeps_the_calendar_and_asks_to_reconnect(
    running_app: RunningApp, feed_url: str, sandbox: RunningSandbox
) -> None:
    before = summaries(httpx.get(feed_url))
    assert httpx.post(f"{sandbox.url}/_sandbox/revoke_user", json={"slug": "demo"}).status_code == 200
    sandbox.clock.advance(seconds=2 * HOUR)  # stale: the refresh behind the answer meets the revoked grant
    assert summaries(httpx.get(feed_url)) == before
    notice = "Airdate: reconnect your Trakt account"
    eventually_blocking(lambda: notice in summaries(httpx.get(feed_url)), "the reconnect notice", within=10)
    calendar = icalendar.Calendar.from_ical(httpx.get(feed_url).content)
    events = calendar.walk("VEVENT")
    reconnect = next(event for event in events if str(event["SUMMARY"]) == notice)
    assert str(reconnect["URL"]) == f"{running_app.url}/"
    assert reconnect["DTSTART"].dt == sandbox.clock().astimezone(ZoneInfo("America/New_York")).date()
    assert sorted(str(event["SUMMARY"]) for event in events if event is not reconnect) == sorted(before)
    calls = sandbox.state.count("/calendars")
    sandbox.clock.advance(seconds=2 * HOUR)
    summaries(httpx.get(feed_url))
    time.sleep(0.3)
    assert sandbox.state.count("/calendars") == calls  # no calls with a grant known to be gone


def test_no_tmdb_or_tmdb_down_means_no_posters_never_a_broken_feed(
    feed_url: str, sandbox: RunningSandbox
) -> None:
    fault(sandbox, prefix="/3/", status=503)
    response = httpx.get(feed_url)
    assert summaries(response)
    assert b"IMAGE;" not in response.content
