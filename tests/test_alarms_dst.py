"""Golden cases: an all-day episode's alarm fires exactly n minutes before the air time, DST or not.

An all-day event starts at a DATE, which each reader turns into its own midnight, so a trigger
counted from the start means "so many hours after midnight" and lands an hour off whenever a clock
change falls between midnight and the alarm (and readers disagree on whether those hours are wall
clock or elapsed). The feed therefore writes the alarm of an all-day episode as the absolute UTC
instant `air time - n minutes`. These cases sit on every 2027 clock change of five zones: airings
just before, just after and inside the repeated hour, alarms whose naive wall-clock reading falls
in the skipped hour, and alarms that cross the change (including by a whole day).

The expected instants are written out from the zone rules, not computed, and each of the seven
real parsers must decode exactly them. calcurse is the exception the test states: its importer
skips everything inside a VALARM (it keeps only a notify flag, and only on timed appointments),
so it cannot say when an alarm fires; it must still import the event on the right day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from app.feeds.ics import build_events, render
from tests.conformance.lint import lint
from tests.conformance.model import ParsedAlarm, ParsedCalendar, ParsedEvent
from tests.conformance.parsers import PARSERS
from tests.support.ics import CALENDAR, assert_conforms, episode, options, revisions_for, show

NO_ALARMS = "calcurse"  # skips VALARM contents; see the module docstring


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """One airing: where, when (UTC), the feed's `alarm=` minutes, its local day, when it must fire."""

    zone: str
    aired: datetime
    minutes: int
    day: date
    fires: datetime
    why: str

    @property
    def id(self) -> str:
        return f"{self.zone}-{self.aired:%Y%m%dT%H%M}Z-{self.minutes}"


def case(zone: str, aired: str, minutes: int, day: str, fires: str, why: str) -> Case:
    return Case(zone, _utc(aired), minutes, date.fromisoformat(day), _utc(fires), why)


# Clock changes of 2027 (UTC instant, local wall clock before -> after):
#   New York     14 Mar 07:00Z 02:00 EST -> 03:00 EDT;  7 Nov 06:00Z 02:00 EDT -> 01:00 EST
#   Los Angeles  14 Mar 10:00Z 02:00 PST -> 03:00 PDT;  7 Nov 09:00Z 02:00 PDT -> 01:00 PST
#   Berlin       28 Mar 01:00Z 02:00 CET -> 03:00 CEST; 31 Oct 01:00Z 03:00 CEST -> 02:00 CET
#   London       28 Mar 01:00Z 01:00 GMT -> 02:00 BST;  31 Oct 01:00Z 02:00 BST -> 01:00 GMT
#   Auckland     3 Apr 14:00Z (4 Apr local) 03:00 NZDT -> 02:00 NZST;
#                25 Sep 14:00Z (26 Sep local) 02:00 NZST -> 03:00 NZDT
CASES = [
    # --- America/New_York -----------------------------------------------------------------------
    case("America/New_York", "2027-03-14T06:15Z", 30, "2027-03-14", "2027-03-14T05:45Z",
         "airs 01:15 EST before the gap, fires 00:45 EST"),
    case("America/New_York", "2027-03-14T07:15Z", 30, "2027-03-14", "2027-03-14T06:45Z",
         "the issue's case: airs 03:15 EDT, fires 01:45 EST across the gap (02:45 does not exist)"),
    case("America/New_York", "2027-03-14T08:30Z", 30, "2027-03-14", "2027-03-14T08:00Z",
         "airs 04:30 EDT after the gap, fires 04:00 EDT (midnight was EST)"),
    case("America/New_York", "2027-03-14T23:00Z", 1440, "2027-03-14", "2027-03-13T23:00Z",
         "airs 19:00 EDT, fires 24 h earlier: 18:00 EST the day before"),
    case("America/New_York", "2027-11-07T05:15Z", 30, "2027-11-07", "2027-11-07T04:45Z",
         "airs 01:15 EDT, first pass of the repeated hour; fires 00:45 EDT"),
    case("America/New_York", "2027-11-07T06:15Z", 30, "2027-11-07", "2027-11-07T05:45Z",
         "airs 01:15 EST, second pass; fires 01:45 EDT, a later wall time across the change"),
    case("America/New_York", "2027-11-07T06:40Z", 30, "2027-11-07", "2027-11-07T06:10Z",
         "airs 01:40 EST, second pass; fires 01:10 EST, also the second pass"),
    case("America/New_York", "2027-11-07T07:30Z", 30, "2027-11-07", "2027-11-07T07:00Z",
         "airs 02:30 EST after the repeated hour, fires 02:00 EST (midnight was EDT)"),
    case("America/New_York", "2027-11-07T22:00Z", 1440, "2027-11-07", "2027-11-06T22:00Z",
         "airs 17:00 EST, fires 24 h earlier: 18:00 EDT the day before"),
    # --- America/Los_Angeles --------------------------------------------------------------------
    case("America/Los_Angeles", "2027-03-14T09:15Z", 30, "2027-03-14", "2027-03-14T08:45Z",
         "airs 01:15 PST before the gap, fires 00:45 PST"),
    case("America/Los_Angeles", "2027-03-14T10:15Z", 30, "2027-03-14", "2027-03-14T09:45Z",
         "airs 03:15 PDT, fires 01:45 PST across the gap"),
    case("America/Los_Angeles", "2027-03-14T11:30Z", 30, "2027-03-14", "2027-03-14T11:00Z",
         "airs 04:30 PDT after the gap, fires 04:00 PDT"),
    case("America/Los_Angeles", "2027-03-15T02:00Z", 1440, "2027-03-14", "2027-03-14T02:00Z",
         "airs 19:00 PDT on the 14th, fires 18:00 PST on the 13th"),
    case("America/Los_Angeles", "2027-11-07T08:15Z", 30, "2027-11-07", "2027-11-07T07:45Z",
         "airs 01:15 PDT, first pass; fires 00:45 PDT"),
    case("America/Los_Angeles", "2027-11-07T09:15Z", 30, "2027-11-07", "2027-11-07T08:45Z",
         "airs 01:15 PST, second pass; fires 01:45 PDT across the change"),
    case("America/Los_Angeles", "2027-11-07T09:40Z", 30, "2027-11-07", "2027-11-07T09:10Z",
         "airs 01:40 PST, second pass; fires 01:10 PST"),
    case("America/Los_Angeles", "2027-11-07T10:30Z", 30, "2027-11-07", "2027-11-07T10:00Z",
         "airs 02:30 PST after the repeated hour, fires 02:00 PST"),
    case("America/Los_Angeles", "2027-11-08T01:00Z", 1440, "2027-11-07", "2027-11-07T01:00Z",
         "airs 17:00 PST on the 7th, fires 18:00 PDT on the 6th"),
    # --- Europe/Berlin --------------------------------------------------------------------------
    case("Europe/Berlin", "2027-03-28T00:15Z", 30, "2027-03-28", "2027-03-27T23:45Z",
         "airs 01:15 CET before the gap, fires 00:45 CET"),
    case("Europe/Berlin", "2027-03-28T01:15Z", 30, "2027-03-28", "2027-03-28T00:45Z",
         "airs 03:15 CEST, fires 01:45 CET across the gap"),
    case("Europe/Berlin", "2027-03-28T02:30Z", 30, "2027-03-28", "2027-03-28T02:00Z",
         "airs 04:30 CEST after the gap, fires 04:00 CEST"),
    case("Europe/Berlin", "2027-03-28T17:00Z", 1440, "2027-03-28", "2027-03-27T17:00Z",
         "airs 19:00 CEST, fires 18:00 CET the day before"),
    case("Europe/Berlin", "2027-10-31T00:15Z", 30, "2027-10-31", "2027-10-30T23:45Z",
         "airs 02:15 CEST, first pass of the repeated hour; fires 01:45 CEST"),
    case("Europe/Berlin", "2027-10-31T01:15Z", 30, "2027-10-31", "2027-10-31T00:45Z",
         "airs 02:15 CET, second pass; fires 02:45 CEST across the change"),
    case("Europe/Berlin", "2027-10-31T01:40Z", 30, "2027-10-31", "2027-10-31T01:10Z",
         "airs 02:40 CET, second pass; fires 02:10 CET"),
    case("Europe/Berlin", "2027-10-31T02:30Z", 30, "2027-10-31", "2027-10-31T02:00Z",
         "airs 03:30 CET after the repeated hour, fires 03:00 CET"),
    case("Europe/Berlin", "2027-10-31T17:00Z", 1440, "2027-10-31", "2027-10-30T17:00Z",
         "airs 18:00 CET, fires 19:00 CEST the day before"),
    # --- Europe/London --------------------------------------------------------------------------
    case("Europe/London", "2027-03-28T00:15Z", 30, "2027-03-28", "2027-03-27T23:45Z",
         "airs 00:15 GMT before the gap, fires 23:45 GMT the evening before"),
    case("Europe/London", "2027-03-28T01:15Z", 30, "2027-03-28", "2027-03-28T00:45Z",
         "airs 02:15 BST, fires 00:45 GMT across the gap"),
    case("Europe/London", "2027-03-28T02:30Z", 30, "2027-03-28", "2027-03-28T02:00Z",
         "airs 03:30 BST after the gap, fires 03:00 BST"),
    case("Europe/London", "2027-03-28T17:00Z", 1440, "2027-03-28", "2027-03-27T17:00Z",
         "airs 18:00 BST, fires 17:00 GMT the day before"),
    case("Europe/London", "2027-10-31T00:15Z", 30, "2027-10-31", "2027-10-30T23:45Z",
         "airs 01:15 BST, first pass of the repeated hour; fires 00:45 BST"),
    case("Europe/London", "2027-10-31T01:15Z", 30, "2027-10-31", "2027-10-31T00:45Z",
         "airs 01:15 GMT, second pass; fires 01:45 BST across the change"),
    case("Europe/London", "2027-10-31T01:40Z", 30, "2027-10-31", "2027-10-31T01:10Z",
         "airs 01:40 GMT, second pass; fires 01:10 GMT"),
    case("Europe/London", "2027-10-31T02:30Z", 30, "2027-10-31", "2027-10-31T02:00Z",
         "airs 02:30 GMT after the repeated hour, fires 02:00 GMT"),
    case("Europe/London", "2027-10-31T17:00Z", 1440, "2027-10-31", "2027-10-30T17:00Z",
         "airs 17:00 GMT, fires 18:00 BST the day before"),
    # --- Pacific/Auckland (the change back to standard time comes first in the year) -----------
    case("Pacific/Auckland", "2027-04-03T13:15Z", 30, "2027-04-04", "2027-04-03T12:45Z",
         "airs 02:15 NZDT, first pass of the repeated hour; fires 01:45 NZDT"),
    case("Pacific/Auckland", "2027-04-03T14:15Z", 30, "2027-04-04", "2027-04-03T13:45Z",
         "airs 02:15 NZST, second pass; fires 02:45 NZDT across the change"),
    case("Pacific/Auckland", "2027-04-03T14:40Z", 30, "2027-04-04", "2027-04-03T14:10Z",
         "airs 02:40 NZST, second pass; fires 02:10 NZST"),
    case("Pacific/Auckland", "2027-04-03T15:30Z", 30, "2027-04-04", "2027-04-03T15:00Z",
         "airs 03:30 NZST after the repeated hour, fires 03:00 NZST"),
    case("Pacific/Auckland", "2027-04-04T06:00Z", 1440, "2027-04-04", "2027-04-03T06:00Z",
         "airs 18:00 NZST, fires 19:00 NZDT the day before"),
    case("Pacific/Auckland", "2027-09-25T13:15Z", 30, "2027-09-26", "2027-09-25T12:45Z",
         "airs 01:15 NZST before the gap, fires 00:45 NZST"),
    case("Pacific/Auckland", "2027-09-25T14:15Z", 30, "2027-09-26", "2027-09-25T13:45Z",
         "airs 03:15 NZDT, fires 01:45 NZST across the gap"),
    case("Pacific/Auckland", "2027-09-25T15:30Z", 30, "2027-09-26", "2027-09-25T15:00Z",
         "airs 04:30 NZDT after the gap, fires 04:00 NZDT"),
    case("Pacific/Auckland", "2027-09-26T06:00Z", 1440, "2027-09-26", "2027-09-25T06:00Z",
         "airs 19:00 NZDT, fires 18:00 NZST the day before"),
]  # fmt: skip


def _summary(index: int) -> str:
    return f"Show {index} S01E01"


@cache
def _feed(zone: str, minutes: int) -> tuple[bytes, dict[str, ParsedCalendar]]:
    """One all-day feed per zone and `alarm=` value, with every case of that pair in it.

    Each case gets its own show, so no two airings form a binge drop and each summary is unique
    (calcurse keeps no UID; its events are matched by summary).
    """
    entries = [
        episode(
            trakt_id=1000 + index, of=show(trakt_id=index, title=f"Show {index}"), aired=c.aired, number=1
        )
        for index, c in enumerate(CASES)
        if (c.zone, c.minutes) == (zone, minutes)
    ]
    events = build_events(
        entries, {}, options(tz=ZoneInfo(zone), all_day_episodes=True, alarm_minutes=minutes)
    )
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)
    return data, assert_conforms(data, events, revisions)


def _decoded_event(calendar: ParsedCalendar, summary: str) -> ParsedEvent:
    (found,) = [event for event in calendar.events if event.summary == summary]
    return found


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
def test_an_all_day_alarm_fires_exactly_n_minutes_before_the_air_time_in_every_parser(index: int) -> None:
    c = CASES[index]
    assert c.fires == c.aired - timedelta(minutes=c.minutes), "the golden table itself is wrong"
    data, decoded = _feed(c.zone, c.minutes)
    assert sorted(decoded) == sorted(PARSERS)
    assert [finding for finding in lint(data) if finding.severity == "error"] == []

    wanted_alarms = (ParsedAlarm("DISPLAY", c.fires, _summary(index)),)
    got = {}
    for parser, calendar in decoded.items():
        event = _decoded_event(calendar, _summary(index))
        got[parser] = (event.start, event.alarms)
    wanted = {parser: (c.day, None if parser == NO_ALARMS else wanted_alarms) for parser in PARSERS}
    assert got == wanted, c.why
    assert f"TRIGGER;VALUE=DATE-TIME:{c.fires:%Y%m%dT%H%M%S}Z\r\n".encode() in data, c.why


def test_the_issue_example_is_written_as_an_absolute_utc_trigger() -> None:
    """2027-03-14T07:15Z in New York with alarm=30 used to say PT2H45M, i.e. 07:45Z, after it aired."""
    entry = episode(aired=datetime(2027, 3, 14, 7, 15, tzinfo=UTC))
    chosen = options(tz=ZoneInfo("America/New_York"), all_day_episodes=True, alarm_minutes=30)
    (event,) = build_events([entry], {}, chosen)
    assert event.content.alarm == datetime(2027, 3, 14, 6, 45, tzinfo=UTC)
    data = render(CALENDAR, [event], revisions_for([event]))
    alarm = data.split(b"BEGIN:VALARM\r\n")[1].split(b"END:VALARM\r\n")[0]
    assert alarm.splitlines() == [
        b"ACTION:DISPLAY",
        b"TRIGGER;VALUE=DATE-TIME:20270314T064500Z",
        b"DESCRIPTION:The Show S01E05",
    ]


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_every_parser_decodes_a_hand_written_absolute_trigger(parser: str) -> None:
    """The adapters' view of an absolute trigger, on a file not written by our code."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Airdate//Alarm sample//EN",
        "BEGIN:VEVENT",
        "UID:absolute-alarm@airdate.test",
        "DTSTAMP:20270101T000000Z",
        "DTSTART;VALUE=DATE:20271107",
        "DTEND;VALUE=DATE:20271108",
        "SUMMARY:Second pass of the repeated hour",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER;VALUE=DATE-TIME:20271107T054500Z",
        "DESCRIPTION:Starts in 30 minutes",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    data = "".join(line + "\r\n" for line in lines).encode()
    assert [finding for finding in lint(data) if finding.severity == "error"] == []
    (event,) = PARSERS[parser](data).events
    assert event.start == date(2027, 11, 7)
    fires = datetime(2027, 11, 7, 5, 45, tzinfo=UTC)
    assert event.alarms == (
        None if parser == NO_ALARMS else (ParsedAlarm("DISPLAY", fires, "Starts in 30 minutes"),)
    )


@pytest.mark.parametrize("minutes", [30, 1440])
def test_timed_alarms_stay_relative_to_the_utc_start_and_are_exact(minutes: int) -> None:
    """A trigger relative to a UTC DTSTART has no clock change to cross: start + trigger is exact."""
    entries = [
        episode(trakt_id=1000 + index, of=show(trakt_id=index), aired=c.aired, runtime=45)
        for index, c in enumerate(CASES)
        if c.zone == "Europe/London"
    ]
    events = build_events(entries, {}, options(tz=ZoneInfo("Europe/London"), alarm_minutes=minutes))
    assert {event.content.alarm for event in events} == {timedelta(minutes=-minutes)}
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)
    for parser, calendar in assert_conforms(data, events, revisions).items():
        if parser == NO_ALARMS:
            continue
        fires = []
        for event in calendar.events:
            assert isinstance(event.start, datetime) and event.alarms is not None, parser
            (alarm,) = event.alarms
            assert isinstance(alarm.trigger, timedelta), parser
            fires.append(event.start + alarm.trigger)
        assert sorted(fires) == sorted(entry.first_aired - timedelta(minutes=minutes) for entry in entries), (
            parser
        )


def test_an_alarm_that_would_fire_before_year_one_is_left_out() -> None:
    """Trakt data can say year 1; an instant before it does not exist, and rendering must not raise."""
    entry = episode(aired=datetime(1, 1, 1, 12, 0, tzinfo=UTC))
    events = build_events([entry], {}, options(all_day_episodes=True, alarm_minutes=10080))
    (event,) = events
    assert (event.content.start, event.content.alarm) == (date(1, 1, 1), None)
    assert b"VALARM" not in render(CALENDAR, events, revisions_for(events))
