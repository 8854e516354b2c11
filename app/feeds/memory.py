"""Rendered feeds kept in memory, so a warm poll costs a lookup instead of a rendering.

Why keyed by feed and options, with what the rendering was made from in the value: each feed and
option set has one current rendering, and a newer one replaces it in place (no scan for the older
one). A rendering is only served while its `Basis` (the user's data version, time zone and connection
state, the titles written into it, the stored options) is the caller's; otherwise it is a miss. (The
feed's local day is not in it: a rendering's `fresh_until` never passes the day's end,
app.feeds.service.)

Bounded by count and by an estimate of the bytes held (`footprint`), least recently used out first.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from app.core.lru import Lru
from app.domain.entries import Entry
from app.domain.options import FeedOptions
from app.feeds.ics import PosterKey

MEMORY_ENTRIES = 2048
MEMORY_BYTES = 256 * 1024 * 1024
# What one rendering holds per byte of body: the body, its gzip copy, the entries and posters it was
# made from, and every answer its polls prepare (.json included). tests/test_feed_memory.py measures
# about 2 against real renderings with all of them; 4 leaves room for bigger titles and notes.
FOOTPRINT_FACTOR = 4

T = TypeVar("T")


@dataclass(slots=True)
class RenderedFeed:
    body: bytes
    etag: str  # quoted, strong: a hash of the body, so equal bytes give equal ETags on every instance
    last_modified: str  # an HTTP date, formatted once per rendering
    fresh_until: datetime
    digest: str  # what the body was made from; an unchanged digest means no re-render is needed
    entries: tuple[Entry, ...]
    posters: Mapping[PosterKey, str]
    options: FeedOptions
    _gzipped: bytes | None = field(default=None, repr=False)
    _derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def gzipped(self) -> bytes:
        """The body compressed once per rendering, for clients that ask for gzip."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped

    def derived(self, key: Hashable, make: Callable[[], T]) -> T:
        """What the web layer derives from this rendering (an answer, the JSON body), made once per
        key of its choosing: a warm poll then picks a prepared answer instead of building one."""
        if (value := self._derived.get(key)) is None:
            value = self._derived[key] = make()
        return cast(T, value)


class Basis(NamedTuple):
    """Everything of the feed row a rendering was made from: when any of it moves, render again.

    The entries are not here: the data version stands for them. A named tuple, not a frozen
    dataclass: every warm poll builds and compares one, and a tuple does both several times faster."""

    title: tuple[str, str]  # the feed's name and the user's: both are written into the calendar
    user_tz: str  # the window, all-day dates and notices are the zone's (unless the options name one)
    # Which SEQUENCE history a rendering used: the stored options' own when its options equal them,
    # else its URL variant's. The same options can be either, before and after the stored ones change.
    stored_options: str
    data_version: int
    connection_status: str


def footprint(rendered: RenderedFeed) -> int:
    """Roughly what one rendering holds in memory, counted against the memory's byte bound."""
    return FOOTPRINT_FACTOR * len(rendered.body)


class FeedMemory:
    """The newest rendering per feed and options, within an entry and a byte bound."""

    def __init__(self, *, entries: int = MEMORY_ENTRIES, max_bytes: int = MEMORY_BYTES) -> None:
        self._held: Lru[tuple[int, FeedOptions], tuple[Basis, RenderedFeed]] = Lru(
            max_bytes=max_bytes, max_items=entries, size=lambda held: footprint(held[1])
        )

    def __len__(self) -> int:
        return len(self._held)

    @property
    def bytes(self) -> int:
        return self._held.bytes

    def get(self, feed_id: int, options: FeedOptions, basis: Basis) -> RenderedFeed | None:
        """The rendering made from `basis`, or None (absent, evicted, or made from another basis)."""
        held = self._held.get((feed_id, options))
        return held[1] if held is not None and held[0] == basis else None

    def put(self, feed_id: int, options: FeedOptions, basis: Basis, rendered: RenderedFeed) -> None:
        self._held.put((feed_id, options), (basis, rendered))
