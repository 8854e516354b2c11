"""Golden time-zone cases: which calendar day an airing lands on, worked out by hand.

All-day episodes are where feeds go wrong (a 01:00Z airing is the previous evening in New York; see
the peers' reports of calendars "a day early"), and DST edges are where a computed offset hides a bug.
The expected dates and wall-clock times below are written out from the zone rules, not computed, so
the generator cannot agree with itself by sharing a mistake.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.entries import Episode
from app.feeds.ics import build_events, render
from tests.support.ics import CALENDAR, assert_conforms, episode, options, revisions_for, show

# 02:30Z on the morning US clocks spring forward (07:00Z): New York is still on EST (-5).
SPRING = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
# 05:30Z on the morning US clocks fall back (06:00Z): New York is still on EDT (-4).
FALL = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
# A late-evening UTC airing: the next day everywhere east of Greenwich, summer and winter.
LATE_SUMMER = datetime(2026, 6, 15, 23, 30, tzinfo=UTC)
LATE_WINTER = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)

# zone -> instant -> (local date, local wall time), from the offsets in force at that instant:
# New York EST -5 / EDT -4; Berlin CET +1 / CEST +2; Tokyo +9 (no DST); Auckland NZDT +13 until
# 5 April 2026 and from 27 September 2026, NZST +12 between; UTC 0.
GOLDEN: dict[str, dict[datetime, tuple[date, str]]] = {
    "America/New_York": {
        SPRING: (date(2026, 3, 7), "21:30"),
        FALL: (date(2026, 11, 1), "01:30"),
        LATE_SUMMER: (date(2026, 6, 15), "19:30"),
        LATE_WINTER: (date(2026, 1, 15), "18:30"),
    },
    "Europe/Berlin": {
        SPRING: (date(2026, 3, 8), "03:30"),
        FALL: (date(2026, 11, 1), "06:30"),
        LATE_SUMMER: (date(2026, 6, 16), "01:30"),
        LATE_WINTER: (date(2026, 1, 16), "00:30"),
    },
    "Asia/Tokyo": {
        SPRING: (date(2026, 3, 8), "11:30"),
        FALL: (date(2026, 11, 1), "14:30"),
        LATE_SUMMER: (date(2026, 6, 16), "08:30"),
        LATE_WINTER: (date(2026, 1, 16), "08:30"),
    },
    "Pacific/Auckland": {
        SPRING: (date(2026, 3, 8), "15:30"),
        FALL: (date(2026, 11, 1), "18:30"),
        LATE_SUMMER: (date(2026, 6, 16), "11:30"),
        LATE_WINTER: (date(2026, 1, 16), "12:30"),
    },
    "UTC": {
        SPRING: (date(2026, 3, 8), "02:30"),
        FALL: (date(2026, 11, 1), "05:30"),
        LATE_SUMMER: (date(2026, 6, 15), "23:30"),
        LATE_WINTER: (date(2026, 1, 15), "23:30"),
    },
}


INSTANTS = (SPRING, FALL, LATE_SUMMER, LATE_WINTER)


def _airings() -> list[Episode]:
    """One show per instant, so no two airings form a binge drop."""
    return [
        episode(trakt_id=index, of=show(trakt_id=index), aired=aired, runtime=45)
        for index, aired in enumerate(INSTANTS, start=1)
    ]


@pytest.mark.parametrize("zone", sorted(GOLDEN))
def test_all_day_episodes_land_on_the_local_date(zone: str) -> None:
    events = build_events(_airings(), {}, options(tz=ZoneInfo(zone), all_day_episodes=True))
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)
    assert_conforms(data, events, revisions)

    by_instant = {event.order: event for event in events}
    assert sorted(by_instant) == sorted(INSTANTS)
    for aired, (day, wall) in GOLDEN[zone].items():
        event = by_instant[aired]
        assert (event.content.start, event.content.end) == (day, day + timedelta(days=1)), aired
        assert event.content.description.startswith(f"Airs at {wall} ({zone})\n\n"), aired
        stamp = day.strftime("%Y%m%d")
        assert f"DTSTART;VALUE=DATE:{stamp}\r\n".encode() in data


@pytest.mark.parametrize("zone", sorted(GOLDEN))
def test_timed_episodes_keep_the_exact_utc_instant_whatever_the_zone(zone: str) -> None:
    events = build_events(_airings(), {}, options(tz=ZoneInfo(zone)))
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)
    assert_conforms(data, events, revisions)

    assert [(event.content.start, event.content.end) for event in events] == [
        (aired, aired + timedelta(minutes=45)) for aired in sorted(INSTANTS)
    ]
    for literal in (b"20260308T023000Z", b"20261101T053000Z", b"20260615T233000Z", b"20260115T233000Z"):
        assert b"DTSTART:" + literal + b"\r\n" in data
    assert b"TZID" not in data and b"X-WR-TIMEZONE" not in data
