"""Calendar entries: the plain data a feed is made of, parsed from Trakt's calendar JSON.

Why a module of its own: the cache keeps Trakt's raw JSON (so a parsing fix needs no refetch), and
`ics.py` may import nothing of ours but plain data types. Parsing is forgiving per item: one malformed
item is dropped, never the whole calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

ReleaseKind = Literal["theatrical", "digital", "dvd"]


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


def parse_episodes(items: Iterable[Mapping[str, Any]]) -> list[Episode]:
    """Episodes from `/calendars/my/shows*` items; items without an air instant or ids are dropped."""
    episodes: list[Episode] = []
    for item in items:
        try:
            episodes.append(_episode(item))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("dropping malformed Trakt show item: %s", exc)
    return episodes


def parse_releases(items: Iterable[Mapping[str, Any]], kind: ReleaseKind) -> list[Release]:
    """Releases from `/calendars/my/{movies,streaming,dvd}` items, tagged with the calendar's kind."""
    releases: list[Release] = []
    for item in items:
        try:
            releases.append(Release(_movie(item["movie"]), date.fromisoformat(item["released"]), kind))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("dropping malformed Trakt movie item: %s", exc)
    return releases


def _episode(item: Mapping[str, Any]) -> Episode:
    raw_episode, raw_show = item["episode"], item["show"]
    aired = item.get("first_aired") or raw_episode.get("first_aired")
    if not aired:
        raise ValueError("no first_aired")
    show_ids = raw_show.get("ids") or {}
    show = Show(
        trakt_id=_int(show_ids["trakt"]),
        title=_text(raw_show.get("title")) or "Untitled show",
        year=_opt_int(raw_show.get("year")),
        slug=_text(show_ids.get("slug")),
        tmdb_id=_opt_int(show_ids.get("tmdb")),
        imdb_id=_text(show_ids.get("imdb")),
        tvdb_id=_opt_int(show_ids.get("tvdb")),
        network=_text(raw_show.get("network")),
        runtime=_positive(raw_show.get("runtime")),
    )
    return Episode(
        trakt_id=_int(raw_episode["ids"]["trakt"]),
        show=show,
        season=_int(raw_episode["season"]),
        number=_int(raw_episode["number"]),
        first_aired=_instant(aired),
        title=_text(raw_episode.get("title")),
        runtime=_positive(raw_episode.get("runtime")),
        overview=_text(raw_episode.get("overview")),
        episode_type=_text(raw_episode.get("episode_type")) or "standard",
        updated_at=_opt_instant(raw_episode.get("updated_at")),
    )


def _movie(raw: Mapping[str, Any]) -> Movie:
    ids = raw.get("ids") or {}
    return Movie(
        trakt_id=_int(ids["trakt"]),
        title=_text(raw.get("title")) or "Untitled movie",
        year=_opt_int(raw.get("year")),
        slug=_text(ids.get("slug")),
        tmdb_id=_opt_int(ids.get("tmdb")),
        imdb_id=_text(ids.get("imdb")),
        overview=_text(raw.get("overview")),
        runtime=_positive(raw.get("runtime")),
        updated_at=_opt_instant(raw.get("updated_at")),
    )


def _instant(raw: Any) -> datetime:
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _opt_instant(raw: Any) -> datetime | None:
    try:
        return _instant(raw) if raw else None
    except ValueError:
        return None


def _int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise TypeError(f"not an integer: {raw!r}")
    return int(raw)


def _opt_int(raw: Any) -> int | None:
    try:
        return _int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _positive(raw: Any) -> int | None:
    value = _opt_int(raw)
    return value if value and value > 0 else None


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None
