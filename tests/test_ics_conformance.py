"""Feeds rendered from the sandbox's catalog, judged by the linter and every real parser we can run.

The catalog is fetched over HTTP from the running sandbox (the same Trakt-shaped JSON the product
reads) and parsed with `app.domain.entries`, so these files are what a subscriber would really get. A few
catalog items are overridden with the nastiest text we could think of (raw CRLF, quotes, escapes,
several KB of CJK and emoji that fold mid-sentence, RTL) before fetching.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.domain.entries import Entry, Episode, Release, ReleaseKind, parse_episodes, parse_releases
from app.feeds.ics import Event, Notice, PosterKey, RenderOptions, Revision, build_events, render
from tests.fixtures.sandbox import RunningSandbox
from tests.support.ics import CALENDAR, assert_conforms, revisions_for

TMDB_IMAGES = "https://image.tmdb.org/t/p/w500"

PILOT_TITLE = 'Pilot, Part 1; "Back\\slash"\nand a second line'
PILOT_OVERVIEW_SENT = (
    'She said: "commas, semicolons; back\\slashes \\n (not a newline)".\r\n'
    "Tabs\tstay. Emoji 🎬🍿 and 東京の夜 and עברית and العربية and e\u0301 combining.\r\n\r\n"
) + "A long paragraph, with commas; and more. " * 80
PILOT_OVERVIEW_SEEN = PILOT_OVERVIEW_SENT.replace("\r\n", "\n").strip()
FINALE_OVERVIEW = "🎉最終回、星の旅は終わる。" * 97  # 3,880 octets of 3- and 4-octet characters, no spaces
HUGE_OVERVIEW = "حكايات الليل، " * 1000  # 25 KB: more than any app shows (and calcurse's 8 KiB line)
SUN_OVERVIEW = "שמש עולה.\nהסרט, שחור; לבן."


@dataclass(frozen=True)
class Catalog:
    """The sandbox's calendar items by source, with the poster URLs the product would look up."""

    sources: Mapping[str, list[Entry]]
    posters: Mapping[PosterKey, str]


def _find_episode(data: Mapping[str, Any], show: int, season: int, number: int) -> int:
    for item in data["shows"]:
        episode = item["episode"]
        if (item["show"]["ids"]["trakt"], episode["season"], episode["number"]) == (show, season, number):
            return int(episode["ids"]["trakt"])
    raise AssertionError(f"the sandbox catalog has no show {show} S{season}E{number}")


@pytest.fixture
def catalog(sandbox: RunningSandbox) -> Iterator[Catalog]:
    with httpx.Client(base_url=sandbox.url) as client:
        before = client.get("/_sandbox/dataset").raise_for_status().json()
        overrides = [
            (
                "episode",
                _find_episode(before, 2, 1, 1),
                {"title": PILOT_TITLE, "overview": PILOT_OVERVIEW_SENT},
            ),
            ("episode", _find_episode(before, 3, 1, 52), {"overview": FINALE_OVERVIEW}),
            ("episode", _find_episode(before, 4, 1, 1), {"overview": HUGE_OVERVIEW}),
            ("movie", 103, {"overview": SUN_OVERVIEW}),
        ]
        for kind, trakt_id, fields in overrides:
            body = {"kind": kind, "trakt_id": trakt_id, "fields": fields}
            client.post("/_sandbox/overrides", json=body).raise_for_status()
        data = client.get("/_sandbox/dataset").raise_for_status().json()
    yield Catalog(_sources(data), _posters(data))


def _sources(data: Mapping[str, Any]) -> dict[str, list[Entry]]:
    """What each feed source's Trakt calendar holds, cut from the whole catalog."""
    episodes = parse_episodes(data["shows"])

    def of_type(*suffixes: str) -> list[Entry]:
        return [episode for episode in episodes if episode.episode_type.endswith(suffixes)]

    def releases(kind: ReleaseKind) -> list[Entry]:
        items = [{"released": m[kind], "movie": m["movie"]} for m in data["movies"] if m[kind]]
        return list(parse_releases(items, kind))

    return {
        "shows": list(episodes),
        "premieres": of_type("premiere"),
        "new": of_type("series_premiere"),
        "finales": of_type("finale"),
        "movies": releases("theatrical"),
        "streaming": releases("digital"),
        "dvd": releases("dvd"),
    }


def _posters(data: Mapping[str, Any]) -> dict[PosterKey, str]:
    """Poster URLs keyed like the product keys them: by Trakt id, found through Trakt's TMDB id."""
    tv = {t["id"]: t["poster_path"] for t in data["tmdb"]["tv"] if t["poster_path"]}
    movies = {t["id"]: t["poster_path"] for t in data["tmdb"]["movie"] if t["poster_path"]}
    posters: dict[PosterKey, str] = {}
    for item in data["shows"]:
        if (path := tv.get(item["show"]["ids"]["tmdb"])) is not None:
            posters[("show", item["show"]["ids"]["trakt"])] = TMDB_IMAGES + path
    for item in data["movies"]:
        if (path := movies.get(item["movie"]["ids"]["tmdb"])) is not None:
            posters[("movie", item["movie"]["ids"]["trakt"])] = TMDB_IMAGES + path
    return posters


@dataclass(frozen=True)
class Combo:
    sources: tuple[str, ...]
    tz: str
    all_day: bool = False
    alarm: int | None = None
    group: bool = True

    def __str__(self) -> str:
        flags = [
            "all-day" if self.all_day else "timed",
            f"alarm{self.alarm}",
            "grouped" if self.group else "flat",
        ]
        return "+".join(self.sources) + f"-{self.tz}-" + "-".join(flags)


ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Auckland")
EPISODE_SOURCES = (("shows",), ("premieres", "finales", "new", "shows"))  # the second overlaps itself
COMBOS = (
    [
        Combo(sources, ZONES[index % len(ZONES)], all_day, alarm, group)
        for sources in EPISODE_SOURCES
        for index, (all_day, alarm, group) in enumerate(
            (a, m, g) for a in (False, True) for m in (None, 15) for g in (True, False)
        )
    ]
    + [
        Combo((source,), tz, alarm=alarm)
        for source in ("movies", "streaming", "dvd")
        for tz, alarm in (("America/Los_Angeles", None), ("Pacific/Auckland", 1440))
    ]
    + [
        Combo(
            ("shows", "premieres", "new", "finales", "movies", "streaming", "dvd"), "Asia/Kolkata", True, 30
        )
    ]
)

# Hand-written expectations: the summary each source must show for the catalog's tricky items.
PILOT = (
    'Series premiere: Back\\Slash; The "Quoted" Show S01E01 · Pilot, Part 1; "Back\\slash" and a second line'
)
EPISODE_SUMMARIES: dict[str, tuple[str, ...]] = {
    PILOT: ("shows", "premieres", "new"),
    "Season finale: 星の旅 🚀 Star Voyage S01E52 · 最終回 🎉": ("shows", "finales"),
    "Fresh Start S01E03": ("shows",),  # no title
    "Fresh Start S01E04": ("shows",),  # empty title
    "Fresh Start S01E05": ("shows",),  # the placeholder "Episode 5"
}
DROP_SUMMARIES: dict[bool, dict[str, tuple[str, ...]]] = {
    True: {"Season premiere: Deep Signal S02E01–E08": ("shows", "premieres", "finales")},
    False: {"Deep Signal S02E04 · The Thread Cipher": ("shows",)},
}
RELEASE_SUMMARIES = {
    'Heat: "Redux" (2026)': "movies",
    'Heat: "Redux" (2026) · Digital release': "streaming",
    'Heat: "Redux" (2026) · DVD release': "dvd",
    "Back\\Door; Open (2026) · Digital release": "streaming",
    "שמש — Sun (2026)": "movies",
    "Amélie, Again (2026) · DVD release": "dvd",
}


def _expected_summaries(combo: Combo) -> set[str]:
    wanted = {**EPISODE_SUMMARIES, **DROP_SUMMARIES[combo.group]}
    found = {summary for summary, sources in wanted.items() if set(sources) & set(combo.sources)}
    found |= {summary for summary, source in RELEASE_SUMMARIES.items() if source in combo.sources}
    return found


def _item_count(entries: Sequence[Entry], group: bool) -> int:
    """Distinct things on the calendar, counted from the entries without the generator's help."""
    items: set[tuple[object, ...]] = set()
    for entry in entries:
        if isinstance(entry, Release):
            items.add((entry.movie.trakt_id, entry.kind))
        elif group:
            items.add((entry.show.trakt_id, entry.season, entry.first_aired))
        else:
            items.add((entry.trakt_id,))
    return len(items)


@pytest.mark.parametrize("combo", COMBOS, ids=str)
def test_every_parser_reads_every_feed_exactly(catalog: Catalog, combo: Combo) -> None:
    entries = [entry for source in combo.sources for entry in catalog.sources[source]]
    options = RenderOptions(
        feed_id=4242,
        tz=ZoneInfo(combo.tz),
        all_day_episodes=combo.all_day,
        alarm_minutes=combo.alarm,
        group_drops=combo.group,
    )
    notices = [
        Notice("reconnect", date(2026, 11, 25), "Reconnect Trakt, please", "Sign in again; it's quick.")
    ]
    events = build_events(entries, catalog.posters, options, notices)
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)

    decoded = assert_conforms(data, events, revisions)
    assert len(events) == _item_count(entries, combo.group) + len(notices)
    assert len(data) < 300_000

    expected = _expected_summaries(combo)
    assert expected, "every combination must include at least one hand-checked item"
    for name, calendar in decoded.items():
        summaries = {event.summary for event in calendar.events}
        assert expected <= summaries, (name, expected - summaries)
        descriptions = [event.description or "" for event in calendar.events]
        if PILOT in expected:
            assert any(text.startswith(PILOT_OVERVIEW_SEEN) for text in descriptions) != combo.all_day, name
            assert any(PILOT_OVERVIEW_SEEN in text for text in descriptions), name
        if "Season finale: 星の旅 🚀 Star Voyage S01E52 · 最終回 🎉" in expected:
            assert any(FINALE_OVERVIEW in text for text in descriptions), name
        if "shows" in combo.sources:  # the 25 KB overview arrives cut, the same in every app
            paragraphs = [part for text in descriptions for part in text.split("\n\n")]
            (huge,) = [part for part in paragraphs if part.startswith("حكايات الليل، حكايات")]
            kept, ellipsis = huge[:-1], huge[-1]
            assert ellipsis == "…" and HUGE_OVERVIEW.startswith(kept), name
            assert 3800 < len(huge.encode()) <= 4000, name
        if "שמש — Sun (2026)" in expected:
            assert any(text.startswith(SUN_OVERVIEW + "\n\n") for text in descriptions), name


def test_the_pilot_event_in_full(catalog: Catalog) -> None:
    """One event written out completely by hand, as a subscriber's app must show it."""
    options = RenderOptions(feed_id=4242, tz=ZoneInfo("UTC"))
    events = build_events(catalog.sources["new"], catalog.posters, options)
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)
    (pilot,) = [
        event
        for event in assert_conforms(data, events, revisions)["vobject"].events
        if event.summary == PILOT
    ]
    link = "https://trakt.tv/shows/show-2/seasons/1/episodes/1"
    poster = catalog.posters[("show", 2)]
    assert pilot.description == f"{PILOT_OVERVIEW_SEEN}\n\nNetwork: FX\n\nTrakt: {link}\n\nPoster: {poster}"
    assert (pilot.location, pilot.url, pilot.image, pilot.attach) == ("FX", link, poster, poster)
    assert pilot.categories == ("TV", "Series premiere")
    assert isinstance(pilot.start, datetime) and isinstance(pilot.end, datetime)
    assert pilot.start.time().isoformat() == "02:30:00" and pilot.start.tzinfo == UTC
    assert pilot.end - pilot.start == timedelta(minutes=30)


# --- size --------------------------------------------------------------------------------------------

HEAVY_OVERVIEW = (
    "When a routine case turns personal, a detective with a troubled past returns to the town she left, "
    "where every neighbour has a secret, every secret has a price, and the price is always paid in full."
)


def _weekly_items(shows: int, first: datetime, weeks: int) -> list[dict[str, Any]]:
    """Trakt calendar items for `shows` shows airing weekly, as `/calendars/my/shows` returns them."""
    items = []
    for show in range(1, shows + 1):
        for week in range(weeks):
            aired = first + timedelta(days=7 * week, minutes=5 * show)
            items.append(
                {
                    "first_aired": aired.isoformat().replace("+00:00", ".000Z"),
                    "show": {
                        "title": f"The Show Number {show}",
                        "year": 2024,
                        "ids": {"trakt": show, "slug": f"the-show-number-{show}", "tmdb": 9000 + show},
                        "network": "Streaming Network+",
                        "runtime": 50,
                    },
                    "episode": {
                        "season": 2,
                        "number": week + 1,
                        "title": f"Chapter {week + 1}: The Long Way Home",
                        "ids": {"trakt": show * 1000 + week},
                        "overview": HEAVY_OVERVIEW,
                        "runtime": 48,
                        "episode_type": "standard",
                    },
                }
            )
    return items


def _weekly_feed(shows: int) -> tuple[bytes, list[Episode], list[Event], dict[str, Revision]]:
    # the default window: 7 days back and 60 ahead, so ten airings of a weekly show
    episodes = parse_episodes(_weekly_items(shows, datetime(2026, 11, 18, 1, 0, tzinfo=UTC), weeks=10))
    posters: dict[PosterKey, str] = {
        ("show", n): f"{TMDB_IMAGES}/poster{n:04d}abcdefghijklmnop.jpg" for n in range(1, shows + 1)
    }
    events = build_events(episodes, posters, RenderOptions(feed_id=1, tz=ZoneInfo("America/Chicago")))
    revisions = revisions_for(events)
    return render(CALENDAR, events, revisions), episodes, events, revisions


def test_a_heavy_account_stays_well_under_a_megabyte_and_keeps_every_event() -> None:
    data, episodes, events, revisions = _weekly_feed(shows=150)
    assert len(episodes) == len(events) == 1500
    assert len(data) < 850_000
    assert_conforms(data, events, revisions)


def test_a_typical_account_keeps_full_detail() -> None:
    data, _, events, revisions = _weekly_feed(shows=25)
    assert len(events) == 250
    assert all(
        event.content.description.startswith(HEAVY_OVERVIEW) and event.content.attach for event in events
    )
    assert_conforms(data, events, revisions, ("icalendar", "icaljs"))
