"""The sandbox's catalog for a given "today": the hand-written lineup turned into dated records.

Deterministic on purpose: the same (today, seed) always gives the same data, so a test can predict
every calendar answer. The cases themselves live in `lineup`; the seed only varies cosmetic values
(episode titles, ratings, votes).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from app.sandbox.lineup import (
    ALL_DAYS,
    LONG_OVERVIEW,
    MOVIES,
    MULTILINE_OVERVIEW,
    SHOWS,
    SPECIAL_TITLES,
    WORDS,
    MovieSpec,
    Run,
    ShowSpec,
)
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
