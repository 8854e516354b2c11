"""Catalog records -> the JSON shapes Trakt and TMDB document.

Minimal vs `extended=full` field sets follow the reference: without `full` Trakt sends only
title/year/ids (plus season/number for episodes), so a product that forgets `extended=full`
visibly loses overviews and runtimes in tests.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from app.sandbox.model import Dataset, Episode, Movie, Show, TmdbTitle

Json = dict[str, Any]


def instant(value: datetime | None) -> str | None:
    """Trakt's timestamp style: UTC with milliseconds and a `Z`."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def show_json(show: Show, full: bool) -> Json:
    data: Json = {"title": show.title, "year": show.year, "ids": asdict(show.ids)}
    if full:
        data |= {
            "overview": show.overview,
            "first_aired": instant(show.first_aired),
            "airs": asdict(show.airs),
            "runtime": show.runtime,
            "certification": show.certification,
            "network": show.network,
            "country": show.country,
            "updated_at": instant(show.updated_at),
            "status": show.status,
            "language": show.language,
            "genres": list(show.genres),
            "aired_episodes": show.aired_episodes,
        }
    return data


def episode_json(episode: Episode, full: bool) -> Json:
    data: Json = {
        "season": episode.season,
        "number": episode.number,
        "title": episode.title,
        "ids": asdict(episode.ids),
    }
    if full:
        data |= {
            "number_abs": episode.number_abs,
            "overview": episode.overview,
            "first_aired": instant(episode.first_aired),
            "updated_at": instant(episode.updated_at),
            "rating": episode.rating,
            "votes": episode.votes,
            "comment_count": episode.comment_count,
            "available_translations": list(episode.available_translations),
            "runtime": episode.runtime,
            "episode_type": episode.episode_type,
        }
    return data


def movie_json(movie: Movie, full: bool) -> Json:
    data: Json = {"title": movie.title, "year": movie.year, "ids": asdict(movie.ids)}
    if full:
        data |= {
            "tagline": movie.tagline,
            "overview": movie.overview,
            "released": day(movie.released),
            "runtime": movie.runtime,
            "updated_at": instant(movie.updated_at),
            "language": movie.language,
            "genres": list(movie.genres),
            "certification": movie.certification,
        }
    return data


def calendar_show_item(episode: Episode, show: Show, full: bool) -> Json:
    return {
        "first_aired": instant(episode.first_aired),
        "episode": episode_json(episode, full),
        "show": show_json(show, full),
    }


def calendar_movie_item(released: date, movie: Movie, full: bool) -> Json:
    return {"released": day(released), "movie": movie_json(movie, full)}


def dataset_json(data: Dataset) -> Json:
    """Everything the sandbox serves, so tests can compare the product's output value by value."""
    return {
        "today": day(data.today),
        "shows": [calendar_show_item(e, data.show(e.show_trakt), True) for e in data.episodes],
        "movies": [
            {
                "movie": movie_json(m, True),
                "theatrical": day(m.theatrical),
                "digital": day(m.digital),
                "dvd": day(m.dvd),
            }
            for m in data.movies
        ],
        "watched": {
            "episodes": sorted(data.watched_episodes),
            "movies": sorted(data.watched_movies),
        },
        "tmdb": {
            "tv": [tmdb_tv_json(t) for t in data.tmdb_tv.values()],
            "movie": [tmdb_movie_json(t) for t in data.tmdb_movies.values()],
        },
    }


def tmdb_tv_json(title: TmdbTitle, details: bool = False) -> Json:
    """A TMDB tv result; `details` is the /3/tv/{id} form, which has no `media_type`."""
    data: Json = {
        "id": title.id,
        "name": title.name,
        "original_name": title.name,
        "overview": title.overview,
        "first_air_date": day(title.date),
        "poster_path": title.poster_path,
        "backdrop_path": None,
    }
    return data if details else data | {"media_type": "tv"}


def tmdb_movie_json(title: TmdbTitle, details: bool = False) -> Json:
    """A TMDB movie result; `details` is the /3/movie/{id} form, which has no `media_type`."""
    data: Json = {
        "id": title.id,
        "title": title.name,
        "original_title": title.name,
        "overview": title.overview,
        "release_date": day(title.date),
        "poster_path": title.poster_path,
        "backdrop_path": None,
        "imdb_id": title.imdb_id,
    }
    return data if details else data | {"media_type": "movie"}
