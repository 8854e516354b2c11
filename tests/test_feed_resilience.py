"""The feed stays there: warm polls cost Trakt nothing, stale data is served while it refreshes,
outages and revoked grants keep the last good calendar, with a notice when it matters.

These drive the real app over HTTP with the sandbox's fault switches and its movable clock.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from app.domain.options import FeedOptions
from app.feeds.calendar.freshness import FAR_FACTOR
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.support.waiting import eventually_blocking

HOUR = 3600
ZONE = ZoneInfo("America/New_York")  # the sandbox user's Trakt time zone, so the feed's


def summaries(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [str(event["SUMMARY"]) for event in icalendar.Calendar.from_ical(response.content).events]


def events(response: httpx.Response) -> Counter[tuple[str, date]]:
    """Each event as (summary, start day in the feed's zone), counted: enough to tell them apart."""
    assert response.status_code == 200, response.text
    return Counter(
        (str(event["SUMMARY"]), local_day(event.start))
        for event in icalendar.Calendar.from_ical(response.content).events
    )


def local_day(start: date) -> date:
    return start.astimezone(ZONE).date() if isinstance(start, datetime) else start


def local_today(sandbox: RunningSandbox) -> date:
    return sandbox.clock().astimezone(ZONE).date()


def between(counted: Counter[tuple[str, date]], first: date, last: date) -> Counter[tuple[str, date]]:
    return Counter({event: n for event, n in counted.items() if first <= event[1] <= last})


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


def test_the_first_poll_after_local_midnight_answers_with_the_new_days_window(
    feed_url: str, sandbox: RunningSandbox
) -> None:
    """The window is made of the feed's local days, so a rendering is fresh until its day ends and
    never past it: the first poll of a new day drops the day that left the window, although every
    cached chunk is still fresh."""
    today = local_today(sandbox)
    sandbox.clock.set(datetime(today.year, today.month, today.day, 23, 59, 30, tzinfo=ZONE))
    for _ in range(7):  # to an evening whose window begins with an episode, so its end shows
        before = events(httpx.get(feed_url))
        first_day = local_today(sandbox) - timedelta(days=FeedOptions().past_days)
        if between(before, first_day, first_day):
            break
        sandbox.clock.advance(days=1)
    else:
        pytest.fail("no evening in a week whose window begins with an episode")
    settle(sandbox)  # any refresh behind those polls has landed: nothing goes stale in the next minute
    assert between(events(httpx.get(feed_url)), first_day, first_day)
    calls = sandbox.state.count("/calendars")
    sandbox.clock.advance(seconds=60)  # 00:00:30 the next day
    after = events(httpx.get(feed_url))
    assert after and not between(after, first_day, first_day)
    assert sandbox.state.count("/calendars") == calls  # the cached chunks answered the new window


def test_trakt_down_for_hours_keeps_the_last_good_calendar(feed_url: str, sandbox: RunningSandbox) -> None:
    """Every event of the last good calendar is served for as long as its day is in the window.

    The window moves with the clock: days fall off its start, and days the cached chunks already
    cover join at its end. So the comparison is over the days both windows share.
    """
    before = events(httpx.get(feed_url))
    last_day = local_today(sandbox) + timedelta(days=FeedOptions().future_days)
    fault(sandbox, prefix="/calendars", status=503)
    for hours in (2, 4, 24, 24 * 4):  # 126 hours in all: within the week of stale-if-error
        sandbox.clock.advance(seconds=hours * HOUR)
        response = httpx.get(feed_url)
        assert response.status_code == 200
        first_day = local_today(sandbox) - timedelta(days=FeedOptions().past_days)
        shared = (first_day, last_day)
        assert between(before, *shared), "the windows share events to compare"
        assert between(events(response), *shared) == between(before, *shared), f"after {hours} more hours"
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


def test_the_outage_notice_comes_when_the_last_good_data_expires_never_a_503(
    feed_url: str, sandbox: RunningSandbox
) -> None:
    """The data expires a week after its fetch, and the outage began an hour later, at the first failed
    refresh: in that hour the feed must already say why it is empty, not answer 503 as a feed that
    never had data does."""
    summaries(httpx.get(feed_url))
    fault(sandbox, prefix="/calendars", status=503)
    sandbox.clock.advance(seconds=HOUR + 60)
    assert summaries(httpx.get(feed_url))  # failing starts being recorded here
    settle(sandbox)
    sandbox.clock.advance(days=7, seconds=30 * 60 - HOUR - 60)  # the fetch is a week and 30 min old
    response = httpx.get(feed_url)
    assert response.status_code == 200
    assert "Airdate: Trakt unreachable, calendar may be incomplete" in summaries(response)


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
    events = calendar.events
    reconnect = next(event for event in events if str(event["SUMMARY"]) == notice)
    assert str(reconnect["URL"]) == f"{running_app.url}/"
    assert reconnect.start == local_today(sandbox)
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
