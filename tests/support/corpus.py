"""The Faults suite's corpus: real-looking Trakt calendar items, and each way of breaking one.

Shared by the parser tests (which feed items straight to parsing) and the HTTP tests (which have
the sandbox inject them into real calendar answers).
"""

from __future__ import annotations

import copy
from typing import Any


def show_item(
    trakt_id: int = 1, show_id: int = 10, aired: str = "2026-11-25T01:00:00.000Z"
) -> dict[str, Any]:
    """A calendar item as Trakt sends it with `extended=full` (the fields the product reads)."""
    return {
        "first_aired": aired,
        "episode": {
            "season": 1,
            "number": trakt_id % 100 + 1,
            "title": f"Episode {trakt_id}",
            "ids": {"trakt": trakt_id, "tvdb": 5000 + trakt_id, "imdb": None, "tmdb": 7000 + trakt_id},
            "overview": "Things happen.",
            "runtime": 42,
            "episode_type": "standard",
            "updated_at": "2026-11-01T00:00:00.000Z",
        },
        "show": {
            "title": "The Show",
            "year": 2024,
            "ids": {"trakt": show_id, "slug": "the-show", "tvdb": 77, "imdb": "tt0000077", "tmdb": 88},
            "network": "HBO",
            "runtime": 45,
        },
    }


def movie_item(trakt_id: int = 500, released: str = "2026-11-27") -> dict[str, Any]:
    return {
        "released": released,
        "movie": {
            "title": "The Movie",
            "year": 2026,
            "ids": {"trakt": trakt_id, "slug": "the-movie", "imdb": "tt0000500", "tmdb": 600},
            "overview": "A film.",
            "runtime": 101,
        },
    }


def broken(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`base` with the value at dotted `path` replaced (or the key removed when value is `...`)."""
    item = copy.deepcopy(base)
    *parents, last = path.split(".")
    target = item
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return item


def changed(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`base` with several dotted paths replaced at once."""
    for path, value in values.items():
        base = broken(base, path, value)
    return base


BAD_EPISODES: dict[str, Any] = {
    "null item": None,
    "number item": 42,
    "string item": "episode",
    "list item": [show_item()],
    "show null": broken(show_item(), "show", None),
    "show a string": broken(show_item(), "show", "The Show"),
    "show a list": broken(show_item(), "show", [1, 2]),
    "episode null": broken(show_item(), "episode", None),
    "episode a number": broken(show_item(), "episode", 3),
    "show ids null": broken(show_item(), "show.ids", None),
    "show ids a list": broken(show_item(), "show.ids", ["trakt"]),
    "episode ids a string": broken(show_item(), "episode.ids", "trakt"),
    "no episode trakt id": broken(show_item(), "episode.ids.trakt", ...),
    "trakt id a bool": broken(show_item(), "episode.ids.trakt", True),
    "trakt id negative": broken(show_item(), "episode.ids.trakt", -4),
    "trakt id absurd": broken(show_item(), "show.ids.trakt", 10**40),
    "trakt id a float": broken(show_item(), "show.ids.trakt", 1.5),
    "season an object": broken(show_item(), "episode.season", {"n": 1}),
    "number absurd": broken(show_item(), "episode.number", 10**30),
    "no first_aired": broken(show_item(), "first_aired", ...),
    "first_aired a number": broken(show_item(), "first_aired", 1764032400),
    "first_aired an object": broken(show_item(), "first_aired", {"at": "2026-11-25"}),
    "first_aired garbage": broken(show_item(), "first_aired", "next tuesday"),
    "first_aired past year 9999": broken(show_item(), "first_aired", "9999-12-31T23:00:00-05:00"),
    "first_aired before year 1": broken(show_item(), "first_aired", "0001-01-01T00:30:00+01:00"),
    "first_aired at the end of time": broken(show_item(), "first_aired", "9999-12-31T23:59:59Z"),
}

BAD_RELEASES: dict[str, Any] = {
    "null item": None,
    "number item": 7,
    "string item": "movie",
    "movie null": broken(movie_item(), "movie", None),
    "movie a string": broken(movie_item(), "movie", "The Movie"),
    "movie a list": broken(movie_item(), "movie", []),
    "movie ids null": broken(movie_item(), "movie.ids", None),
    "released null": broken(movie_item(), "released", None),
    "released a number": broken(movie_item(), "released", 20261127),
    "released garbage": broken(movie_item(), "released", "soon"),
    "released in year 9999": broken(movie_item(), "released", "9999-12-31"),
    "released in year 1": broken(movie_item(), "released", "0001-01-01"),
}


ABSURD_BUT_USABLE: dict[str, tuple[str, Any]] = {
    "runtime of 10^12 minutes": ("episode.runtime", 10**12),
    "show runtime of 10^12 minutes": ("show.runtime", 10**12),
    "negative runtime": ("episode.runtime", -30),
    "runtime a string": ("episode.runtime", "forty"),
    "title an object": ("episode.title", {"en": "x"}),
    "show title a list": ("show.title", ["a"]),
    "network a number": ("show.network", 5),
    "overview of 10 MB": ("episode.overview", "A" * 10_000_000),
    "title with a lone surrogate": ("episode.title", "bad \ud800 half"),
    "slug with a lone surrogate": ("show.ids.slug", "s\udfff"),
    "year absurd": ("show.year", 10**20),
    "updated_at out of range": ("episode.updated_at", "9999-12-31T23:00:00-05:00"),
    "episode_type an object": ("episode.episode_type", {}),
    "imdb an object": ("show.ids.imdb", {}),
    "imdb empty": ("show.ids.imdb", ""),
    "tmdb a string": ("show.ids.tmdb", "88; DROP"),
    "tmdb negative": ("show.ids.tmdb", -88),
    "tmdb past 2^31": ("show.ids.tmdb", 2**40),
}
