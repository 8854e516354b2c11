"""Building and judging iCalendar files the same way in every `test_ics*` module.

The entry factories give each test a valid entry it changes only where it matters; `assert_conforms`
is the one definition of "a subscriber gets exactly these events", from the linter and every real
parser.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.entries import Episode, Movie, Release, ReleaseKind, Show
from app.feeds.ics import CalendarInfo, Event, RenderOptions, Revision, build_events, render
from tests.conformance.lint import lint
from tests.conformance.model import ParsedAlarm, ParsedCalendar, ParsedEvent
from tests.conformance.parsers import PARSERS

MODIFIED = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
CALENDAR = CalendarInfo(name="Trakt · Shows — alice", description="Episodes from Trakt, for alice")
POSTER = "https://image.tmdb.org/t/p/w500/abc.jpg"


def show(trakt_id: int = 1, title: str = "The Show", **fields: Any) -> Show:
    return Show(trakt_id=trakt_id, title=title, **fields)


def episode(
    trakt_id: int = 100,
    *,
    of: Show | None = None,
    season: int = 1,
    number: int = 5,
    aired: datetime = datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
    **fields: Any,
) -> Episode:
    return Episode(
        trakt_id=trakt_id, show=of or show(), season=season, number=number, first_aired=aired, **fields
    )


def release(
    trakt_id: int = 500,
    kind: ReleaseKind = "theatrical",
    day: date = date(2026, 3, 12),
    *,
    title: str = "The Movie",
    **fields: Any,
) -> Release:
    return Release(Movie(trakt_id=trakt_id, title=title, **fields), day, kind)


def options(**fields: Any) -> RenderOptions:
    return RenderOptions(**{"feed_id": 7, "tz": UTC_ZONE, **fields})


def revisions_for(
    events: Iterable[Event], sequence: int = 0, modified: datetime = MODIFIED
) -> dict[str, Revision]:
    return {event.uid: Revision(sequence, modified) for event in events}


def expected_event(event: Event, revision: Revision) -> ParsedEvent:
    """What a faithful parser must decode for one event: the built values, unchanged by the trip."""
    content = event.content
    stamp = revision.modified.astimezone(UTC).replace(microsecond=0)
    alarms = () if content.alarm is None else (ParsedAlarm("DISPLAY", content.alarm, content.summary),)
    return ParsedEvent(
        uid=event.uid,
        summary=content.summary,
        description=content.description or None,
        location=content.location,
        url=content.url,
        start=content.start,
        end=content.end,
        categories=content.categories,
        transp="TRANSPARENT",
        status="CONFIRMED",
        sequence=revision.sequence,
        last_modified=stamp,
        dtstamp=stamp,
        image=content.image,
        attach=content.attach,
        alarms=alarms,
    )


@cache
def blind_spots(parser: str) -> Mapping[str, object]:
    """Fields a parser never exposes (and the placeholder it reports instead), found on a rich event.

    Masking only these keeps every other field strict: a parser that drops a value it can expose
    still fails, while calcurse (no UID, no categories...) is judged on what it does keep.
    """
    entry = episode(
        of=show(trakt_id=1, network="HBO", slug="s"), title="T", overview="O", episode_type="season_finale"
    )
    events = build_events([entry], {("show", 1): POSTER}, options(alarm_minutes=10))
    (parsed,) = PARSERS[parser](render(CALENDAR, events, revisions_for(events, sequence=1))).events
    return {
        field.name: getattr(parsed, field.name)
        for field in fields(parsed)
        if getattr(parsed, field.name) in (None, "")
    }


def assert_conforms(
    data: bytes,
    events: Sequence[Event],
    revisions: Mapping[str, Revision],
    parsers: Iterable[str] = tuple(PARSERS),
) -> dict[str, ParsedCalendar]:
    """The file lints clean and every named parser decodes exactly the events, in file order.

    Returns what each parser decoded, for checks against hand-written values.
    """
    assert [finding for finding in lint(data) if finding.severity == "error"] == []
    want = [expected_event(event, revisions[event.uid]) for event in events]
    decoded: dict[str, ParsedCalendar] = {}
    for name in parsers:
        blind = blind_spots(name)
        masked = [replace(event, **blind) for event in want]  # type: ignore[arg-type]
        calendar = decoded[name] = PARSERS[name](data)
        if "uid" in blind:  # without UIDs the parser's order is its own; compare as a multiset
            assert Counter(calendar.events) == Counter(masked), name
        else:
            assert list(calendar.events) == masked, name
        if calendar.props:
            assert calendar.props["X-WR-CALNAME"] == calendar.props["NAME"], name
    return decoded
