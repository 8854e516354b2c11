"""The 33-day grid: which cached chunks a feed's window of local dates needs.

Why a fixed grid (EPOCH + k * 33 days): every feed, every window and every day of the year then
reuses the same rows, instead of each window asking Trakt for its own overlapping ranges. Why 33
days: Trakt answers at most 33 days per calendar request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.sources import SOURCES, Source
from app.store.chunks import ChunkKey

EPOCH = date(2000, 1, 1)
CHUNK_DAYS = 33
UNWATCHED = "+unwatched"  # source key suffix: an ignore_watched calendar is a different Trakt answer


@dataclass(frozen=True)
class Window:
    """Local calendar dates, both ends inclusive, in the feed owner's time zone."""

    start: date
    end: date
    tz: ZoneInfo

    def instants(self) -> tuple[datetime, datetime]:
        """The UTC instants [start 00:00 local, end+1 00:00 local) that episodes must air in."""
        first = datetime.combine(self.start, time(0), self.tz).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(0), self.tz).astimezone(UTC)
        return first, after


def next_day_starts(now: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant `now`'s next local date begins in `tz`: its midnight, or, where a clock change
    skips midnight, the change itself. (Where a clock goes back across midnight, as Beirut's once a
    year, the repeated hour counts as the new day.)"""
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tz).astimezone(UTC)


def chunks_for(window: Window) -> list[tuple[date, int]]:
    """The grid chunks (start date, days) whose UTC days cover the window's instants.

    Trakt cuts calendars by UTC date, so a New York evening at the window's end lives on the next
    UTC day; covering the instants (not the local dates) keeps such episodes in.
    """
    first, after = window.instants()
    last_day = (after - timedelta(microseconds=1)).date()
    k_first = (first.date() - EPOCH).days // CHUNK_DAYS
    k_last = (last_day - EPOCH).days // CHUNK_DAYS
    return [(EPOCH + timedelta(days=k * CHUNK_DAYS), CHUNK_DAYS) for k in range(k_first, k_last + 1)]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One cache row's identity, and the Trakt request that fills it."""

    user_id: int
    source: Source
    start: date
    days: int
    ignore_watched: bool = False

    @classmethod
    def of(cls, key: ChunkKey) -> Chunk | None:
        """The chunk a cache row holds; None for a source that no longer exists."""
        source = SOURCES.get(key.source.removesuffix(UNWATCHED))
        if source is None:
            return None
        return cls(key.user_id, source, key.start, key.days, key.source.endswith(UNWATCHED))

    @property
    def key(self) -> ChunkKey:
        """The primary key of the chunk's cache row."""
        source_key = self.source.name + UNWATCHED if self.ignore_watched else self.source.name
        return ChunkKey(self.user_id, source_key, self.start, self.days)

    def describe(self) -> str:
        return f"user {self.user_id} {self.key.source} {self.start:%Y-%m-%d}+{self.days}"


def window_chunks(
    user_id: int, sources: Sequence[Source], window: Window, *, ignore_watched: bool
) -> list[Chunk]:
    """Every chunk of every source that one feed's window reads."""
    return [
        Chunk(user_id, source, start, days, ignore_watched)
        for source in sources
        for start, days in chunks_for(window)
    ]
