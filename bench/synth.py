"""Deterministic calendar entries of any size, for the rendering benchmark.

Why synthetic rather than the sandbox catalog: the catalog is a few hundred items, and rendering
must be measured at 5,000. The mix mirrors a real feed: mostly weekly episodes of a pool of shows,
some movie releases, overviews of a few sentences, posters for most titles.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from app.domain.entries import Entry, Episode, Movie, Release, ReleaseKind, Show
from app.feeds.ics import PosterKey

EPOCH = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
KINDS: tuple[ReleaseKind, ...] = ("theatrical", "digital", "dvd")
NETWORKS = ("HBO", "Netflix", "Apple TV+", "BBC One", "NBC", "Disney+")
WORDS = ("night", "river", "signal", "harbor", "glass", "winter", "orbit", "ledger", "echo", "summit")
POSTER_BASE = "https://image.tmdb.org/t/p/w500/"


def entries(count: int, seed: int = 1) -> tuple[list[Entry], dict[PosterKey, str]]:
    """`count` distinct entries (one event each, no binge drops) and posters for four titles in five."""
    rng = random.Random(seed)
    shows = [_show(rng, number) for number in range(1, max(2, count // 8) + 1)]
    found: list[Entry] = []
    posters: dict[PosterKey, str] = {}
    for index in range(count):
        if index % 5 == 4:
            movie = _movie(rng, index)
            found.append(Release(movie, _day(index), KINDS[index % 3]))
            if rng.random() < 0.8:
                posters[("movie", movie.trakt_id)] = f"{POSTER_BASE}m{movie.trakt_id}.jpg"
        else:
            show = shows[index % len(shows)]
            found.append(_episode(rng, show, index))
            if rng.random() < 0.8:
                posters[("show", show.trakt_id)] = f"{POSTER_BASE}s{show.trakt_id}.jpg"
    return found, posters


def _show(rng: random.Random, number: int) -> Show:
    title = _title(rng)
    return Show(
        trakt_id=number,
        title=title,
        year=2015 + number % 10,
        slug=title.lower().replace(" ", "-"),
        tmdb_id=10_000 + number,
        network=rng.choice(NETWORKS),
        runtime=rng.choice((22, 30, 45, 60)),
    )


def _episode(rng: random.Random, show: Show, index: int) -> Episode:
    return Episode(
        trakt_id=1_000_000 + index,
        show=show,
        season=1 + index // 400,
        number=1 + index % 400,
        first_aired=EPOCH + timedelta(hours=index * 3),  # distinct instants: no binge drops
        title=_title(rng),
        overview=_overview(rng),
        episode_type="season_premiere" if index % 50 == 0 else "standard",
    )


def _movie(rng: random.Random, index: int) -> Movie:
    title = _title(rng)
    return Movie(
        trakt_id=500_000 + index,
        title=title,
        year=2026,
        slug=title.lower().replace(" ", "-"),
        tmdb_id=900_000 + index,
        overview=_overview(rng),
    )


def _day(index: int) -> date:
    return (EPOCH + timedelta(days=index // 4)).date()


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(1, 3)))


def _overview(rng: random.Random) -> str:
    sentences = (" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(3))
    return " ".join(sentences)
