"""The notices a feed carries: pure, so every case is a plain call without database or sandbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.feeds.notices import STALE_NOTICE_AFTER, notices

NOW = datetime(2027, 5, 3, 12, 0, tzinfo=UTC)
TODAY = date(2027, 5, 3)
URL = "https://airdate.example/"


def test_a_healthy_feed_carries_no_notice() -> None:
    assert notices(needs_reconnect=False, failing_since=None, now=NOW, today=TODAY, url=URL) == []


def test_a_lost_grant_asks_to_reconnect_on_today_with_a_link() -> None:
    (notice,) = notices(needs_reconnect=True, failing_since=None, now=NOW, today=TODAY, url=URL)
    assert (notice.key, notice.day, notice.url) == ("reconnect", TODAY, URL)
    assert notice.summary == "Airdate: reconnect your Trakt account"


def test_an_outage_is_announced_only_after_a_week() -> None:
    almost = NOW - STALE_NOTICE_AFTER + timedelta(seconds=1)
    assert notices(needs_reconnect=False, failing_since=almost, now=NOW, today=TODAY, url=URL) == []
    since = NOW - STALE_NOTICE_AFTER
    (notice,) = notices(needs_reconnect=False, failing_since=since, now=NOW, today=TODAY, url=URL)
    assert notice.key == "outage" and "since 2027-04-26 12:00 UTC" in notice.description


def test_an_outage_is_announced_as_soon_as_the_data_it_kept_from_renewal_expired() -> None:
    since = NOW - timedelta(days=6, hours=23)  # a week after the fetch, an hour short of the outage's
    (notice,) = notices(
        needs_reconnect=False, failing_since=since, now=NOW, today=TODAY, url=URL, data_expired=True
    )
    assert notice.key == "outage" and "since 2027-04-26 13:00 UTC" in notice.description
    assert (
        notices(needs_reconnect=False, failing_since=None, now=NOW, today=TODAY, url=URL, data_expired=True)
        == []
    )


def test_both_notices_keep_their_order() -> None:
    found = notices(
        needs_reconnect=True, failing_since=NOW - timedelta(days=30), now=NOW, today=TODAY, url=URL
    )
    assert [notice.key for notice in found] == ["reconnect", "outage"]
