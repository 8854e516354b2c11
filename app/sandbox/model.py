"""Typed catalog records of the sandbox.

Field names mirror the JSON keys Trakt documents, so that an override sent as JSON
(`{"fields": {"title": ...}}`) maps one-to-one onto a record and tests can compare served
JSON with these objects value by value.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ShowIds:
    trakt: int
    slug: str
    tvdb: int | None
    imdb: str | None
    tmdb: int | None


@dataclass(frozen=True)
class EpisodeIds:
    trakt: int
    tvdb: int | None
    imdb: str | None
    tmdb: int | None


@dataclass(frozen=True)
class MovieIds:
    trakt: int
    slug: str
    imdb: str | None
    tmdb: int | None


@dataclass(frozen=True)
class Airs:
    day: str | None
    time: str | None
    timezone: str | None


@dataclass(frozen=True)
class Show:
    title: str
    year: int
    ids: ShowIds
    overview: str | None
    first_aired: datetime | None
    airs: Airs
    runtime: int | None
    certification: str | None
    network: str | None
    country: str | None
    updated_at: datetime
    status: str
    language: str | None
    genres: tuple[str, ...]
    aired_episodes: int


@dataclass(frozen=True)
class Episode:
    show_trakt: int
    season: int
    number: int
    title: str | None
    ids: EpisodeIds
    number_abs: int | None
    overview: str | None
    first_aired: datetime
    updated_at: datetime
    rating: float
    votes: int
    comment_count: int
    available_translations: tuple[str, ...]
    runtime: int | None
    episode_type: str


@dataclass(frozen=True)
class Movie:
    title: str
    year: int
    ids: MovieIds
    tagline: str | None
    overview: str | None
    runtime: int | None
    updated_at: datetime
    language: str | None
    genres: tuple[str, ...]
    certification: str | None
    theatrical: date | None
    digital: date | None
    dvd: date | None

    @property
    def released(self) -> date | None:
        """Trakt's movie summary carries the theatrical date as `released`."""
        return self.theatrical


@dataclass(frozen=True)
class TmdbTitle:
    """What TMDB knows about a show or movie, including ids Trakt may lack."""

    id: int
    trakt: int
    name: str
    poster_path: str | None
    imdb_id: str | None
    tvdb_id: int | None
    date: date | None
    overview: str | None


@dataclass(frozen=True)
class Dataset:
    today: date
    shows: tuple[Show, ...]
    episodes: tuple[Episode, ...]
    movies: tuple[Movie, ...]
    watched_episodes: frozenset[int]
    watched_movies: frozenset[int]
    tmdb_tv: Mapping[int, TmdbTitle]
    tmdb_movies: Mapping[int, TmdbTitle]
    drops: Mapping[int, int] = field(default_factory=dict)
    """show trakt id -> season released all at once (a binge drop)."""

    def show(self, trakt_id: int) -> Show:
        """Look a show up by id; episodes reference shows only by id to keep overrides local."""
        for show in self.shows:
            if show.ids.trakt == trakt_id:
                return show
        raise KeyError(trakt_id)


def merge(record: T, changes: Mapping[str, object]) -> T:
    """Return `record` with JSON-shaped `changes` applied (nested records merge, ISO strings parse).

    Raises ValueError for a key the record does not have, so a typo in a test fails loudly
    instead of silently changing nothing.
    """
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError("merge needs a dataclass instance")
    hints = typing.get_type_hints(type(record))
    updates: dict[str, object] = {}
    for key, value in changes.items():
        if key not in hints or key == "show_trakt":
            raise ValueError(f"unknown field {key!r}")
        current = getattr(record, key)
        kinds = set(typing.get_args(hints[key])) | {hints[key]}
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            updates[key] = merge(current, value)
        elif isinstance(value, str) and datetime in kinds:
            parsed = datetime.fromisoformat(value)
            updates[key] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        elif isinstance(value, str) and date in kinds:
            updates[key] = date.fromisoformat(value)
        elif isinstance(value, list):
            updates[key] = tuple(value)
        else:
            updates[key] = value
    return dataclasses.replace(record, **updates)
