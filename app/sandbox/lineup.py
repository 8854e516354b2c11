"""The cases the sandbox's catalog holds, written by hand as offsets in days from "today".

Why by hand: every awkward case the product must survive is then guaranteed to be inside the
windows tests use: US evening shows that are "yesterday" in New York, a binge drop, every
premiere/finale kind, specials, missing TMDB ids, hostile titles. `catalog.generate` turns these
specs into dated records; its seed varies only cosmetic values, never which cases exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

ALL_DAYS = frozenset(range(7))
TUE_TO_SAT = frozenset({1, 2, 3, 4, 5})  # a US weeknight talk show airs after 00:00Z


@dataclass(frozen=True)
class Run:
    """A stretch of consecutive episodes of one season.

    `every` is the cadence in days (0 = all at the same instant, a binge drop); `first_type`
    and `last_type` label the edges, everything in between is "standard".
    """

    season: int
    first_number: int
    start: int
    count: int
    every: int = 7
    first_type: str = "standard"
    last_type: str = "standard"
    weekdays: frozenset[int] = ALL_DAYS


@dataclass(frozen=True)
class ShowSpec:
    trakt: int
    title: str
    network: str
    country: str
    language: str
    at: time
    runtime: int | None
    runs: tuple[Run, ...]
    status: str = "returning series"
    year: int = 2019
    has_ids: bool = True
    trakt_knows_tmdb: bool = True
    has_poster: bool = True
    runtime_gaps: bool = False
    certification: str = "TV-14"
    genres: tuple[str, ...] = ("drama",)
    airs_day: str = "Thursday"
    airs_time: str = "21:00"
    airs_zone: str = "America/New_York"
    overview: str | None = None


@dataclass(frozen=True)
class MovieSpec:
    trakt: int
    title: str
    theatrical: int | None
    digital: int | None
    dvd: int | None
    runtime: int | None
    has_ids: bool = True
    trakt_knows_tmdb: bool = True
    has_poster: bool = True
    watched: bool = False
    language: str = "en"
    genres: tuple[str, ...] = ("drama",)


LONG_OVERVIEW = " ".join(
    f"Chapter {n}: the crew of the Meridian charts a new course, argues about the map, "
    f"and learns that every star they name was already named by someone else."
    for n in range(1, 50)
)
MULTILINE_OVERVIEW = "The final season begins.\nNothing is as it was.\n\nLine four, after a blank line."

SHOWS: tuple[ShowSpec, ...] = (
    ShowSpec(
        1,
        "Harbor Lights, Inc.",
        "NBC",
        "us",
        "en",
        time(1, 0),
        43,
        (
            Run(3, 1, -118, 10, last_type="season_finale"),
            Run(4, 1, -6, 10, first_type="season_premiere", last_type="mid_season_finale"),
            Run(4, 11, 120, 12, first_type="mid_season_premiere", last_type="season_finale"),
        ),
        year=2022,
        airs_day="Thursday",
        airs_time="20:00",
    ),
    ShowSpec(
        2,
        'Back\\Slash; The "Quoted" Show',
        "FX",
        "us",
        "en",
        time(2, 30),
        30,
        (
            Run(1, 1, -60, 16, first_type="series_premiere", last_type="season_finale"),
            Run(2, 1, 240, 10, first_type="season_premiere", last_type="season_finale"),
        ),
        airs_day="Tuesday",
        airs_time="21:30",
        genres=("comedy",),
    ),
    ShowSpec(
        3,
        "星の旅 🚀 Star Voyage",
        "NHK",
        "jp",
        "ja",
        time(13, 0),
        24,
        (Run(1, 1, -119, 52, last_type="season_finale"),),
        airs_day="Sunday",
        airs_time="22:00",
        airs_zone="Asia/Tokyo",
        genres=("animation", "science-fiction"),
        overview=LONG_OVERVIEW,
    ),
    ShowSpec(
        4,
        "حكايات الليل",
        "MBC",
        "ae",
        "ar",
        time(20, 0),
        None,
        (Run(1, 1, -100, 30, last_type="season_finale"),),
        airs_day="Saturday",
        airs_time="00:00",
        airs_zone="Asia/Dubai",
    ),
    ShowSpec(
        5,
        "The Long Night",
        "HBO",
        "us",
        "en",
        time(23, 30),
        60,
        (
            Run(2, 1, -115, 8, first_type="season_premiere", last_type="season_finale"),
            Run(0, 1, -30, 1),
            Run(0, 2, 3, 1),
            Run(3, 1, 14, 5, first_type="season_premiere", last_type="mid_season_finale"),
            Run(3, 6, 98, 5, first_type="mid_season_premiere", last_type="season_finale"),
        ),
        year=2021,
        runtime_gaps=True,
        certification="TV-MA",
        airs_day="Sunday",
        airs_time="18:30",
    ),
    ShowSpec(
        6,
        "Deep Signal",
        "Netflix",
        "us",
        "en",
        time(8, 0),
        55,
        (
            Run(1, 1, -100, 8, every=0, first_type="series_premiere", last_type="season_finale"),
            Run(2, 1, 12, 8, every=0, first_type="season_premiere", last_type="season_finale"),
        ),
        airs_day="Friday",
        airs_time="03:00",
        genres=("thriller",),
    ),
    ShowSpec(
        7,
        "Fresh Start",
        "ABC",
        "us",
        "en",
        time(2, 0),
        22,
        (Run(1, 1, 5, 13, first_type="series_premiere", last_type="season_finale"),),
        trakt_knows_tmdb=False,
        airs_day="Wednesday",
        airs_time="21:00",
        genres=("comedy",),
    ),
    ShowSpec(
        8,
        "Final Curtain",
        "PBS",
        "us",
        "en",
        time(18, 0),
        50,
        (Run(5, 1, -80, 14, first_type="season_premiere", last_type="series_finale"),),
        status="ended",
        year=2015,
        has_ids=False,
        airs_day="Monday",
        airs_time="13:00",
        overview=MULTILINE_OVERVIEW,
    ),
    ShowSpec(
        9,
        "Late Talk: Tonight",
        "CBS",
        "us",
        "en",
        time(4, 35),
        37,
        (Run(12, 1, -45, 70, every=1, weekdays=TUE_TO_SAT),),
        year=2015,
        has_poster=False,
        airs_day="Monday",
        airs_time="23:35",
        genres=("talk-show",),
    ),
)

MOVIES: tuple[MovieSpec, ...] = (
    MovieSpec(101, "Amélie, Again", -40, 10, 50, 112, watched=True, language="fr"),
    MovieSpec(102, 'Heat: "Redux"', 3, 33, 90, 171, genres=("crime",)),
    MovieSpec(103, "שמש — Sun", -100, -60, 20, 98, language="he"),
    MovieSpec(104, "🎬 Premiere Night", 25, None, None, 95, has_poster=False),
    MovieSpec(105, "Back\\Door; Open", None, 8, None, 104, trakt_knows_tmdb=False),
    MovieSpec(106, "The Quiet Year", 150, 190, 250, 121),
    MovieSpec(107, "北の国から Northern Country", -10, 30, 75, 133, language="ja"),
    MovieSpec(108, "Unknown Reel", 40, None, 100, None, has_ids=False),
    MovieSpec(109, "Summer's End", 300, None, None, 89),
    MovieSpec(110, "A Very Long Overview", -80, -50, -20, 140, watched=True),
    MovieSpec(111, "Midnight Matinee", 55, 85, None, 101, genres=("horror",)),
    MovieSpec(112, "Second Feature", -5, 20, 60, 92, watched=True),
)

WORDS = (
    "Lantern",
    "Harbor",
    "Echo",
    "Cipher",
    "Orchard",
    "Meridian",
    "Tide",
    "Ember",
    "Glass",
    "Signal",
    "Atlas",
    "Thread",
    "Quarry",
    "Comet",
    "Ledger",
    "Winter",
    "Paper",
    "Mirror",
)
SPECIAL_TITLES = {
    (7, 1, 3): None,
    (7, 1, 4): "",
    (7, 1, 5): "Episode 5",
    (5, 3, 2): "שעת האפס",
    (5, 0, 1): "Behind the Scenes: Part 1, the Cast; the Crew",
    (5, 0, 2): 'Inside "The Long Night" \\ Making Of',
    (1, 4, 1): 'Return, Revenge; Reckoning: "All" of It',
    (3, 1, 52): "最終回 🎉",
}
