"""Faults suite, fuzzing: whatever JSON Trakt sends, what parsing accepts always renders.

Payloads are real calendar items with any of their values replaced by arbitrary JSON (nulls, bools,
huge integers, floats, strings with lone surrogates and control characters, nested lists and objects,
timestamps at the ends of time with extreme offsets), mixed with arbitrary JSON items. Parsing may
drop any item; it must never raise, and the renderer (and the JSON route's encoder) must never raise
on what it kept. The output must lint clean and read back in the in-process parsers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from app.domain.drops import DropLog
from app.domain.entries import Entry, Episode, parse_episodes, parse_releases
from app.feeds.ics import build_events, render
from tests.conformance.lint import lint
from tests.conformance.parsers import PARSERS
from tests.support.corpus import broken, movie_item, show_item
from tests.support.figures import Figures
from tests.support.ics import CALENDAR, options, revisions_for
from tests.support.polling import SUITE

SHOW_PATHS = (
    "first_aired",
    "episode",
    "show",
    "episode.ids",
    "episode.ids.trakt",
    "episode.season",
    "episode.number",
    "episode.title",
    "episode.runtime",
    "episode.overview",
    "episode.episode_type",
    "episode.updated_at",
    "show.ids",
    "show.ids.trakt",
    "show.ids.slug",
    "show.ids.tmdb",
    "show.ids.imdb",
    "show.ids.tvdb",
    "show.title",
    "show.year",
    "show.network",
    "show.runtime",
)
MOVIE_PATHS = (
    "released",
    "movie",
    "movie.ids",
    "movie.ids.trakt",
    "movie.ids.slug",
    "movie.ids.tmdb",
    "movie.ids.imdb",
    "movie.title",
    "movie.year",
    "movie.runtime",
    "movie.overview",
    "movie.updated_at",
)
KEYS = sorted({part for path in SHOW_PATHS + MOVIE_PATHS for part in path.split(".")})
OFFSETS = [
    UTC,
    timezone(timedelta(hours=14)),
    timezone(-timedelta(hours=12)),
    timezone(timedelta(minutes=-330)),
]
ZONES = ["UTC", "America/New_York", "Pacific/Auckland", "Pacific/Kiritimati", "Pacific/Pago_Pago"]

text = st.text(st.characters(), max_size=40)  # all of Unicode, lone surrogates and controls included
numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, 10**12, 10**40]),
    st.floats(allow_nan=True, allow_infinity=True),
)
instants = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.sampled_from(OFFSETS)).map(
    datetime.isoformat
)
ends_of_time = st.sampled_from(
    [
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01",
        "9999-12-31",
        "2199-12-31T23:59:59-12:00",
    ]
)
days = st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat)
scalars = st.one_of(st.none(), st.booleans(), numbers, text, instants, ends_of_time, days)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), text), children, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """`base` with a few values replaced; deeper paths first, so a replaced parent wins."""
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True))
    item = base
    for path in sorted(chosen, key=lambda path: -path.count(".")):
        item = broken(item, path, draw(json_values))
    return item


items = st.lists(
    st.one_of(
        st.just(show_item()),
        mutated(show_item(2, aired="2026-11-26T02:00:00.000Z"), SHOW_PATHS),
        mutated(movie_item(), MOVIE_PATHS),
        json_values,
    ),
    max_size=6,
)


def json_route_body(entries: list[Entry]) -> bytes:
    """What `/feeds/<token>.json` encodes of each entry's text (Starlette's encoder, as the route)."""
    texts = [
        [e.show.title, e.title, e.overview, e.show.network, e.show.slug, e.show.imdb_id, e.episode_type]
        if isinstance(e, Episode)
        else [e.movie.title, e.movie.overview, e.movie.slug, e.movie.imdb_id]
        for e in entries
    ]
    return bytes(JSONResponse(texts).body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=items, all_day=st.booleans(), zone=st.sampled_from(ZONES), alarm=st.sampled_from([None, 0, 1440])
)
def test_whatever_parsing_accepts_renders(
    payload: list[Any], all_day: bool, zone: str, alarm: int | None, figures: Figures
) -> None:
    drops = DropLog()
    entries: list[Entry] = [
        *parse_episodes(payload, drops, source="shows"),
        *parse_releases(payload, "digital", drops, source="streaming"),
    ]
    feed = options(all_day_episodes=all_day, tz=ZoneInfo(zone), alarm_minutes=alarm)
    events = build_events(entries, {}, feed)
    body = render(CALENDAR, events, revisions_for(events))
    assert [finding for finding in lint(body) if finding.severity == "error"] == []
    for name in ("icalendar", "vobject"):
        assert len(PARSERS[name](body).events) == len(events), name
    json_route_body(entries)
    figures.add(SUITE, "fuzzed payloads parsed and rendered")
    figures.add(SUITE, "fuzzed entries kept and rendered", len(entries))
    figures.add(SUITE, "fuzzed items dropped", sum(drops.counts.values()))
