"""The event's content is one value whose fields are both what is written and what is fingerprinted.

Stored fingerprints decide SEQUENCE: a fingerprint that moved without the content moving would bump
every event of every feed once (clients re-download everything), and one that stayed while the
content moved would leave Google showing the old event. So: every field counts, and the hash of a
known event is pinned.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.feeds.ics import EventContent, episode_code
from app.feeds.ics.frame import serialize
from app.feeds.ics.model import Event, Revision

AIRED = datetime(2027, 3, 14, 7, 15, tzinfo=UTC)
CONTENT = EventContent(
    start=AIRED,
    end=datetime(2027, 3, 14, 8, 0, tzinfo=UTC),
    summary="Show S01E02 · Title",
    description="Trakt: https://trakt.tv/shows/show",
    location="HBO",
    url="https://trakt.tv/shows/show",
    categories=("TV",),
    image=None,
    attach=None,
    alarm=timedelta(minutes=-30),
)
OTHER_VALUES: dict[str, Any] = {
    "start": date(2027, 3, 14),
    "end": date(2027, 3, 15),
    "summary": "Show S01E03",
    "description": "",
    "location": None,
    "url": "https://trakt.tv/shows/other",
    "categories": ("TV", "Season finale"),
    "image": "https://image.tmdb.org/t/p/w500/p.jpg",
    "attach": "https://image.tmdb.org/t/p/w500/p.jpg",
    "alarm": None,
}


def test_the_fingerprint_of_a_known_event_is_pinned() -> None:
    # The value feed_events rows hold today: a change here re-sends every event to every subscriber.
    assert CONTENT.fingerprint() == "130f0d1db34eb857badfc48f71a6a1ae26683a5de04eaaa72e495ec4a291f49b"


def test_every_content_field_is_covered_by_the_fingerprint() -> None:
    assert sorted(OTHER_VALUES) == sorted(each.name for each in fields(EventContent))
    for name, value in OTHER_VALUES.items():
        assert replace(CONTENT, **{name: value}).fingerprint() != CONTENT.fingerprint(), name


@pytest.mark.parametrize("name", sorted(OTHER_VALUES))
def test_every_content_field_changes_what_is_written(name: str) -> None:
    revision = Revision(0, datetime(2027, 1, 1, tzinfo=UTC))
    written = serialize(Event("uid@airdate", AIRED, CONTENT), revision)
    other = replace(CONTENT, **{name: OTHER_VALUES[name]})
    assert serialize(Event("uid@airdate", AIRED, other), revision) != written


def test_an_event_fingerprint_is_its_content_fingerprint() -> None:
    event = Event("uid@airdate", AIRED, CONTENT)
    assert event.fingerprint == CONTENT.fingerprint()
    assert replace(event, content=replace(CONTENT, summary="x")).fingerprint != event.fingerprint


@pytest.mark.parametrize(
    ("season", "number", "code"), [(1, 5, "S01E05"), (0, 1, "S00E01"), (12, 105, "S12E105")]
)
def test_the_episode_code(season: int, number: int, code: str) -> None:
    assert episode_code(season, number) == code
