"""Calendar entries: the plain data a feed is made of, parsed from Trakt's calendar JSON.

Why a module of its own: the cache keeps Trakt's raw JSON (so a parsing fix needs no refetch), and
`ics.py` may import nothing of ours but plain data types.

Why so strict about shapes and ranges: this JSON comes from outside and is parsed again on every
rendering of a cached chunk. Parsing is forgiving per item (a malformed item is dropped, logged once
with its ids and counted, never the whole calendar) and strict per value: every field is checked for
its JSON type and for a sane range here, so that whatever parsing accepts the renderer can always
render (no overflow at the ends of time, no runtime of 10^12 minutes, no lone surrogate that UTF-8
cannot carry, no 10 MB title). A required value that fails drops its item; an optional one is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

from app.domain.drops import DropLog
from app.domain.ids import imdb_id, positive_id

ReleaseKind = Literal["theatrical", "digital", "dvd"]
_T = TypeVar("_T")

# Calendars live in this range; anything outside is a broken date, not a very old or far-off airing.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
MAX_RUNTIME = 24 * 60  # minutes; a longer "runtime" is garbage and is treated as unknown
MAX_NUMBER = 99_999  # season and episode numbers
TITLE_CHARS = 500
TEXT_CHARS = 20_000  # overviews; the renderer cuts them much shorter still
WORD_CHARS = 100  # slugs, networks, episode types
_INSTANT_CHARS = 64
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Show:
    trakt_id: int
    title: str
    year: int | None = None
    slug: str | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None
    tvdb_id: int | None = None
    network: str | None = None
    runtime: int | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    trakt_id: int
    show: Show
    season: int
    number: int
    first_aired: datetime  # aware, UTC
    title: str | None = None
    runtime: int | None = None
    overview: str | None = None
    episode_type: str = "standard"
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Movie:
    trakt_id: int
    title: str
    year: int | None = None
    slug: str | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None
    overview: str | None = None
    runtime: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """One release of a movie: the same movie has up to three (theatrical, digital, DVD)."""

    movie: Movie
    date: date
    kind: ReleaseKind


Entry = Episode | Release


class Malformed(ValueError):
    """A value of an upstream item that is missing, of the wrong JSON type or out of range."""


class Titles:
    """One object per distinct show and movie among the entries parsed with it.

    Why: a warm rendering keeps its entries, and Trakt repeats the whole show in every episode of a
    calendar (the movie in each of its releases), so without this every entry would hold its own copy,
    strings included: a heap twice the size for the collector to walk. Equal means every field equal,
    so a show Trakt described differently in a later chunk stays an object of its own.
    """

    __slots__ = ("_movies", "_shows")

    def __init__(self) -> None:
        self._shows: dict[Show, Show] = {}
        self._movies: dict[Movie, Movie] = {}

    def show(self, show: Show) -> Show:
        return self._shows.setdefault(show, show)

    def movie(self, movie: Movie) -> Movie:
        return self._movies.setdefault(movie, movie)


def parse_episodes(
    items: Iterable[object],
    drops: DropLog | None = None,
    *,
    source: str = "shows",
    titles: Titles | None = None,
) -> list[Episode]:
    """Episodes from `/calendars/my/shows*` items; malformed items are dropped (see `DropLog`).
    Pass one `titles` to every parse of one answer so its episodes share their shows."""
    shared = titles or Titles()
    return _each(items, lambda item: _episode(item, shared), drops or DropLog(), source)


def parse_releases(
    items: Iterable[object],
    kind: ReleaseKind,
    drops: DropLog | None = None,
    *,
    source: str = "movies",
    titles: Titles | None = None,
) -> list[Release]:
    """Releases from `/calendars/my/{movies,streaming,dvd}` items, tagged with the calendar's kind."""
    shared = titles or Titles()
    return _each(items, lambda item: _release(item, kind, shared), drops or DropLog(), source)


def _each(items: Iterable[object], parse: Callable[[object], _T], drops: DropLog, source: str) -> list[_T]:
    parsed: list[_T] = []
    for item in items:
        try:
            parsed.append(parse(item))
        except Exception as exc:  # untrusted data: whatever one item does, it costs only that item
            drops.drop(source, item, str(exc) if isinstance(exc, Malformed) else type(exc).__name__)
    return parsed


def _episode(raw: object, titles: Titles) -> Episode:
    item = _object(raw, "item")
    raw_episode, raw_show = _object(item.get("episode"), "episode"), _object(item.get("show"), "show")
    show_ids = _object(raw_show.get("ids"), "show.ids")
    show = Show(
        trakt_id=_required_id(show_ids.get("trakt"), "show.ids.trakt"),
        title=_text(raw_show.get("title"), TITLE_CHARS) or "Untitled show",
        year=_year(raw_show.get("year")),
        slug=_text(show_ids.get("slug"), WORD_CHARS),
        tmdb_id=positive_id(show_ids.get("tmdb")),
        imdb_id=imdb_id(show_ids.get("imdb")),
        tvdb_id=positive_id(show_ids.get("tvdb")),
        network=_text(raw_show.get("network"), WORD_CHARS),
        runtime=_runtime(raw_show.get("runtime")),
    )
    episode_ids = _object(raw_episode.get("ids"), "episode.ids")
    return Episode(
        trakt_id=_required_id(episode_ids.get("trakt"), "episode.ids.trakt"),
        show=titles.show(show),
        season=_number(raw_episode.get("season"), "episode.season"),
        number=_number(raw_episode.get("number"), "episode.number"),
        first_aired=_instant(item.get("first_aired") or raw_episode.get("first_aired"), "first_aired"),
        title=_text(raw_episode.get("title"), TITLE_CHARS),
        runtime=_runtime(raw_episode.get("runtime")),
        overview=_text(raw_episode.get("overview"), TEXT_CHARS),
        episode_type=_text(raw_episode.get("episode_type"), WORD_CHARS) or "standard",
        updated_at=_optional_instant(raw_episode.get("updated_at")),
    )


def _release(raw: object, kind: ReleaseKind, titles: Titles) -> Release:
    item = _object(raw, "item")
    movie = titles.movie(_movie(_object(item.get("movie"), "movie")))
    return Release(movie, _day(item.get("released"), "released"), kind)


def _movie(raw: Mapping[str, Any]) -> Movie:
    ids = _object(raw.get("ids"), "movie.ids")
    return Movie(
        trakt_id=_required_id(ids.get("trakt"), "movie.ids.trakt"),
        title=_text(raw.get("title"), TITLE_CHARS) or "Untitled movie",
        year=_year(raw.get("year")),
        slug=_text(ids.get("slug"), WORD_CHARS),
        tmdb_id=positive_id(ids.get("tmdb")),
        imdb_id=imdb_id(ids.get("imdb")),
        overview=_text(raw.get("overview"), TEXT_CHARS),
        runtime=_runtime(raw.get("runtime")),
        updated_at=_optional_instant(raw.get("updated_at")),
    )


def _object(raw: object, name: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise Malformed(f"{name} is not an object")
    return raw


def _required_id(raw: object, name: str) -> int:
    found = positive_id(raw)
    if found is None:
        raise Malformed(f"{name} is not a positive integer id")
    return found


def _number(raw: object, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_NUMBER:
        raise Malformed(f"{name} is not a number from 0 to {MAX_NUMBER}")
    return raw


def _instant(raw: object, name: str) -> datetime:
    """An aware UTC instant within [FIRST_DAY, LAST_DAY], from Trakt's ISO 8601 text."""
    if not isinstance(raw, str) or len(raw) > _INSTANT_CHARS:
        raise Malformed(f"{name} is not a timestamp")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that leaves years 1..9999
        raise Malformed(f"{name} is not a timestamp in range") from None
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise Malformed(f"{name} is out of range")
    return value


def _optional_instant(raw: object) -> datetime | None:
    try:
        return _instant(raw, "") if raw else None
    except Malformed:
        return None


def _day(raw: object, name: str) -> date:
    if not isinstance(raw, str) or len(raw) > _INSTANT_CHARS:
        raise Malformed(f"{name} is not a date")
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise Malformed(f"{name} is not a date") from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise Malformed(f"{name} is out of range")
    return value


def _runtime(raw: object) -> int | None:
    """Minutes, when plausible; 0, negative, absurd or non-integer runtimes are unknown."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_RUNTIME:
        return None
    return raw


def _year(raw: object) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int) or not FIRST_DAY.year <= raw <= LAST_DAY.year:
        return None
    return raw


def _text(raw: object, limit: int) -> str | None:
    """A JSON string, trimmed and cut to `limit` characters; lone surrogates (which UTF-8 cannot
    carry, yet JSON's \\u escapes can produce) become U+FFFD; anything but a string is absent."""
    if not isinstance(raw, str):
        return None
    text = _SURROGATES.sub("\ufffd", raw[: limit * 2]).strip()[:limit].rstrip()
    return text or None
