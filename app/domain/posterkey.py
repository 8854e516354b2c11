"""Which poster an entry shows: its show's for every episode, its movie's for every release.

Why one definition: the poster service files the URLs it finds under this key, and the renderer, the
dashboard and the JSON feed look them up by it. Spelled apart, a change on one side would leave the
others finding no posters without any error.
"""

from __future__ import annotations

from typing import Literal

from app.domain.entries import Entry, Episode, Movie, Release, Show

PosterKey = tuple[Literal["show", "movie"], int]  # ("show", show.trakt_id) or ("movie", movie.trakt_id)


def poster_key(title: Entry | Show | Movie) -> PosterKey:
    """The key of the poster of an entry, or of the show or movie it belongs to."""
    if isinstance(title, Episode):
        title = title.show
    elif isinstance(title, Release):
        title = title.movie
    if isinstance(title, Show):
        return "show", title.trakt_id
    return "movie", title.trakt_id
