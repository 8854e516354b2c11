"""The feed sources a person can choose, and the Trakt calendar each one reads.

Why a table: feed options, the cache and the parser all need the same mapping, and a new source
(say Trakt's merged `media` calendar) should be one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from app.domain.entries import ReleaseKind


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    trakt_path: str  # below /calendars/my/
    kind: Literal["episodes"] | ReleaseKind


SOURCES: Mapping[str, Source] = {
    source.name: source
    for source in (
        Source("shows", "shows", "episodes"),
        Source("premieres", "shows/premieres", "episodes"),
        Source("new", "shows/new", "episodes"),
        Source("finales", "shows/finales", "episodes"),
        Source("movies", "movies", "theatrical"),
        Source("streaming", "streaming", "digital"),
        Source("dvd", "dvd", "dvd"),
    )
}
