"""Deterministic catalog generation relative to "today".

The catalog is laid out by hand-written show and movie specs (offsets in days from today) so
that every awkward case the product must survive is guaranteed to be inside the windows tests
use: US evening shows that are "yesterday" in New York, a binge drop, every premiere/finale
kind, specials, missing TMDB ids, hostile titles. The seed only varies cosmetic values
(episode titles, ratings, votes), never which cases exist.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.sandbox.model import (
    Airs,
    Dataset,
    Episode,
    EpisodeIds,
    Movie,
    MovieIds,
    Show,
    ShowIds,
    TmdbTitle,
)

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


def still_path(episode_trakt: int) -> str | None:
    """TMDB episode stills: most episodes have one, every third has none (as on TMDB)."""
    return None if episode_trakt % 3 == 0 else _poster("still", episode_trakt)


def _poster(kind: str, key: int) -> str:
    """A poster path shaped like TMDB's (`/` + 27 chars + `.jpg`), stable per title."""
    return "/" + hashlib.sha1(f"{kind}:{key}".encode()).hexdigest()[:27] + ".jpg"


def _run_dates(run: Run, today: date) -> Iterator[tuple[int, date]]:
    """Yield (episode number, air date) for a run, honouring cadence and weekdays."""
    day = today + timedelta(days=run.start)
    number = run.first_number
    while number < run.first_number + run.count:
        if run.weekdays == ALL_DAYS or day.weekday() in run.weekdays:
            yield number, day
            number += 1
        if run.every or run.weekdays != ALL_DAYS:
            day += timedelta(days=max(run.every, 1))


def _episode_type(run: Run, number: int) -> str:
    if number == run.first_number and run.first_type != "standard":
        return run.first_type
    if number == run.first_number + run.count - 1:
        return run.last_type
    return "standard"


def _episodes(spec: ShowSpec, today: date, rng: random.Random, stamp: datetime) -> list[Episode]:
    episodes: list[Episode] = []
    for run in spec.runs:
        for number, day in _run_dates(run, today):
            trakt_id = spec.trakt * 10000 + run.season * 100 + number
            key = (spec.trakt, run.season, number)
            title = SPECIAL_TITLES.get(key, f"The {rng.choice(WORDS)} {rng.choice(WORDS)}")
            runtime = spec.runtime
            if spec.runtime_gaps and number % 2:
                runtime = None
            elif spec.runtime is not None and run.every == 0:
                runtime = spec.runtime + rng.randint(-7, 7)
            episodes.append(
                Episode(
                    show_trakt=spec.trakt,
                    season=run.season,
                    number=number,
                    title=title,
                    ids=EpisodeIds(
                        trakt=trakt_id,
                        tvdb=trakt_id + 5_000_000 if spec.has_ids else None,
                        imdb=f"tt{trakt_id + 9_000_000}" if spec.has_ids else None,
                        tmdb=trakt_id + 900_000 if spec.has_ids and spec.trakt_knows_tmdb else None,
                    ),
                    number_abs=number if spec.trakt == 3 else None,
                    overview=MULTILINE_OVERVIEW
                    if spec.overview == MULTILINE_OVERVIEW
                    else f"{spec.title} S{run.season:02d}E{number:02d}.",
                    first_aired=datetime.combine(day, spec.at, UTC),
                    updated_at=stamp + timedelta(seconds=trakt_id % 3600),
                    rating=round(rng.uniform(6.0, 9.5), 1),
                    votes=rng.randint(5, 900),
                    comment_count=rng.randint(0, 40),
                    available_translations=("en", spec.language) if spec.language != "en" else ("en",),
                    runtime=runtime,
                    episode_type=_episode_type(run, number),
                )
            )
    return episodes


def _show(spec: ShowSpec, episodes: list[Episode], midnight: datetime, stamp: datetime) -> Show:
    premiere = next((e for e in episodes if e.episode_type == "series_premiere"), None)
    first_aired = premiere.first_aired if premiere else datetime.combine(date(spec.year, 9, 15), spec.at, UTC)
    return Show(
        title=spec.title,
        year=first_aired.year,
        ids=ShowIds(
            trakt=spec.trakt,
            slug=f"show-{spec.trakt}",
            tvdb=spec.trakt + 70_000 if spec.has_ids else None,
            imdb=f"tt{spec.trakt + 7_000_000}" if spec.has_ids else None,
            tmdb=spec.trakt + 60_000 if spec.has_ids and spec.trakt_knows_tmdb else None,
        ),
        overview=spec.overview or f"{spec.title} airs on {spec.network}.",
        first_aired=first_aired,
        airs=Airs(day=spec.airs_day, time=spec.airs_time, timezone=spec.airs_zone),
        runtime=spec.runtime,
        certification=spec.certification,
        network=spec.network,
        country=spec.country,
        updated_at=stamp,
        status=spec.status,
        language=spec.language,
        genres=spec.genres,
        aired_episodes=sum(1 for e in episodes if e.first_aired < midnight and e.season > 0),
    )


def _movie(spec: MovieSpec, today: date, stamp: datetime) -> Movie:
    def offset(days: int | None) -> date | None:
        return None if days is None else today + timedelta(days=days)

    dates = [d for d in (offset(spec.theatrical), offset(spec.digital), offset(spec.dvd)) if d]
    return Movie(
        title=spec.title,
        year=dates[0].year,
        ids=MovieIds(
            trakt=spec.trakt,
            slug=f"movie-{spec.trakt}",
            imdb=f"tt{spec.trakt + 8_000_000}" if spec.has_ids else None,
            tmdb=spec.trakt + 50_000 if spec.has_ids and spec.trakt_knows_tmdb else None,
        ),
        tagline=f"{spec.title}." if spec.trakt % 2 else None,
        overview=LONG_OVERVIEW if spec.trakt == 110 else f"A film called {spec.title}.",
        runtime=spec.runtime,
        updated_at=stamp,
        language=spec.language,
        genres=spec.genres,
        certification="PG-13",
        theatrical=offset(spec.theatrical),
        digital=offset(spec.digital),
        dvd=offset(spec.dvd),
    )


def _tmdb_tv(spec: ShowSpec, show: Show) -> TmdbTitle | None:
    if not spec.has_ids:
        return None
    return TmdbTitle(
        id=spec.trakt + 60_000,
        trakt=spec.trakt,
        name=show.title,
        poster_path=_poster("tv", spec.trakt) if spec.has_poster else None,
        imdb_id=show.ids.imdb,
        tvdb_id=show.ids.tvdb,
        date=show.first_aired.date() if show.first_aired else None,
        overview=show.overview,
    )


def _tmdb_movie(spec: MovieSpec, movie: Movie) -> TmdbTitle | None:
    if not spec.has_ids:
        return None
    return TmdbTitle(
        id=spec.trakt + 50_000,
        trakt=spec.trakt,
        name=movie.title,
        poster_path=_poster("movie", spec.trakt) if spec.has_poster else None,
        imdb_id=movie.ids.imdb,
        tvdb_id=None,
        date=movie.theatrical or movie.digital,
        overview=movie.overview,
    )


def generate(today: date, seed: int = 1) -> Dataset:
    """Build the whole catalog for `today`; same (today, seed) always gives the same data."""
    rng = random.Random(f"{seed}:{today.isoformat()}")
    midnight = datetime.combine(today, time(0), UTC)
    stamp = midnight - timedelta(days=2) + timedelta(hours=12)
    shows: list[Show] = []
    episodes: list[Episode] = []
    tmdb_tv: dict[int, TmdbTitle] = {}
    for spec in SHOWS:
        show_episodes = _episodes(spec, today, rng, stamp)
        show = _show(spec, show_episodes, midnight, stamp)
        shows.append(show)
        episodes.extend(show_episodes)
        if (entry := _tmdb_tv(spec, show)) is not None:
            tmdb_tv[entry.id] = entry
    movies: list[Movie] = []
    tmdb_movies: dict[int, TmdbTitle] = {}
    for movie_spec in MOVIES:
        movie = _movie(movie_spec, today, stamp)
        movies.append(movie)
        if (entry := _tmdb_movie(movie_spec, movie)) is not None:
            tmdb_movies[entry.id] = entry
    watched_shows = {1: midnight, 3: midnight - timedelta(days=14)}
    watched = frozenset(
        e.ids.trakt
        for e in episodes
        if e.show_trakt in watched_shows and e.first_aired < watched_shows[e.show_trakt]
    )
    return Dataset(
        today=today,
        shows=tuple(shows),
        episodes=tuple(sorted(episodes, key=lambda e: (e.first_aired, e.ids.trakt))),
        movies=tuple(movies),
        watched_episodes=watched,
        watched_movies=frozenset(s.trakt for s in MOVIES if s.watched),
        tmdb_tv=tmdb_tv,
        tmdb_movies=tmdb_movies,
        drops={
            spec.trakt: run.season for spec in SHOWS for run in spec.runs if run.every == 0 and run.start > 0
        },
    )
