"""What a request does about each cached chunk, and the answer it builds from them: no I/O.

Why pure: the rules that decide whether a person sees fresh data, stale data or nothing, and whether
Trakt is asked now, later or not at all, are the calendar cache's whole promise. Here they read as
plain functions of the cache rows and the time, so tests can state them without a database or a
sandbox; `app.feeds.calendar.service` does the I/O they call for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.core.errors import RateLimited, UpstreamError
from app.domain.drops import DropLog
from app.domain.entries import Entry, Episode, Titles, parse_episodes, parse_releases
from app.domain.sources import Source
from app.feeds.calendar.grid import Chunk, Window
from app.store.chunks import ChunkKey, ChunkRow

MIN_BACKOFF = timedelta(minutes=1)  # first retry after an outage; doubles with the outage's length
MAX_BACKOFF = timedelta(hours=1)

Rows = Mapping[ChunkKey, ChunkRow]


class State(StrEnum):
    """Where one chunk stands for a request."""

    FRESH = "fresh"  # good data, not expired: served, Trakt is not asked
    STALE = "stale"  # good data, expired: served at once, refreshed behind the answer
    MISSING = "missing"  # no usable data: fetched while the caller waits
    FAILING = "failing"  # not fresh, and Trakt failed for it so recently that nobody may ask yet


@dataclass(frozen=True, slots=True)
class Plan:
    """A request's chunks by state, and the upstream work that follows from them."""

    states: dict[Chunk, State]
    refresh: list[Chunk]  # stale and nobody refreshing them: refreshed in the background
    fetch: list[Chunk]  # missing: the caller waits for them
    has_data: bool  # some chunk is usable, so the wait for the others is bounded

    @property
    def settled(self) -> bool:
        """Every chunk is fresh: no need to know whether Trakt could be asked."""
        return all(state is State.FRESH for state in self.states.values())


@dataclass(frozen=True)
class CalendarResult:
    entries: list[Entry]
    fresh_until: datetime  # earliest expiry among the chunks used: memory caches key on it
    stale: bool  # some chunk was served past its expiry
    failing_since: datetime | None  # upstream failing for some chunk since then; None when healthy
    expired_while_failing: bool  # some chunk's last good data grew too old to serve while failing
    incomplete: bool  # some chunk had no usable data and could not be fetched
    needs_reconnect: bool


def usable(row: ChunkRow | None, now: datetime, stale_if_error: timedelta) -> bool:
    """Data we may answer with: a good payload no older than `stale_if_error`."""
    return (
        row is not None
        and row.payload is not None
        and row.fetched_at is not None
        and now - row.fetched_at < stale_if_error
    )


def state(row: ChunkRow | None, now: datetime, stale_if_error: timedelta) -> State:
    """One chunk's state; a backoff only matters to chunks that would otherwise call Trakt."""
    has_data = usable(row, now, stale_if_error)
    if has_data and row is not None and row.expires_at is not None and row.expires_at > now:
        return State.FRESH
    if row is not None and row.retry_after is not None and row.retry_after > now:
        return State.FAILING  # a 429's Retry-After or an outage's backoff
    return State.STALE if has_data else State.MISSING


def plan(chunks: Sequence[Chunk], rows: Rows, now: datetime, stale_if_error: timedelta) -> Plan:
    """What a request for `chunks` does, given their rows as loaded at `now`."""
    states = {chunk: state(rows.get(chunk.key), now, stale_if_error) for chunk in chunks}
    return Plan(
        states=states,
        refresh=[c for c, s in states.items() if s is State.STALE and not _leased(rows[c.key], now)],
        fetch=[c for c, s in states.items() if s is State.MISSING],
        has_data=any(usable(rows.get(chunk.key), now, stale_if_error) for chunk in chunks),
    )


def retry_delay(error: UpstreamError, failing_since: datetime | None, now: datetime) -> timedelta:
    """How long to leave a chunk alone after Trakt failed for it.

    A 429 says how long; otherwise waiting as long as the outage has lasted doubles the gap between
    attempts, from a minute up to an hour.
    """
    if isinstance(error, RateLimited):
        return timedelta(seconds=max(error.retry_after, 1.0))
    return min(MAX_BACKOFF, max(MIN_BACKOFF, now - (failing_since or now)))


def assemble(
    chunks: Sequence[Chunk],
    rows: Rows,
    window: Window,
    now: datetime,
    *,
    stale_if_error: timedelta,
    needs_reconnect: bool,
    drops: DropLog,
) -> CalendarResult:
    """The window's entries from the usable chunks, each once, in airing order."""
    first, after = window.instants()
    found: dict[tuple[str, int, str], Entry] = {}
    expiries: list[datetime] = []
    failures: list[datetime] = []
    expired_while_failing = incomplete = False
    titles = Titles()  # the entries of every chunk share their shows and movies
    for chunk in chunks:
        row = rows.get(chunk.key)
        if row is not None and row.failed_at is not None:
            failures.append(row.failed_at)
        if row is None or not usable(row, now, stale_if_error) or row.expires_at is None:
            incomplete = True
            expired_while_failing |= row is not None and row.payload is not None and row.failed_at is not None
            continue
        expiries.append(row.expires_at)
        for entry in _parse(chunk.source, row.payload or [], drops, titles):
            if _in_window(entry, window, first, after):
                found.setdefault(_identity(entry), entry)
    return CalendarResult(
        entries=sorted(found.values(), key=lambda entry: _order(entry, window.tz)),
        fresh_until=min(expiries, default=now),
        stale=any(expiry <= now for expiry in expiries),
        failing_since=min(failures, default=None),
        expired_while_failing=expired_while_failing,
        incomplete=incomplete,
        needs_reconnect=needs_reconnect,
    )


def _leased(row: ChunkRow, now: datetime) -> bool:
    return row.lease_until is not None and row.lease_until >= now


def _parse(source: Source, payload: Iterable[object], drops: DropLog, titles: Titles) -> list[Entry]:
    """Entries of a cached chunk, parsed again on every rendering; bad items go to `drops`."""
    if source.kind == "episodes":
        return list(parse_episodes(payload, drops, source=source.name, titles=titles))
    return list(parse_releases(payload, source.kind, drops, source=source.name, titles=titles))


def _in_window(entry: Entry, window: Window, first: datetime, after: datetime) -> bool:
    if isinstance(entry, Episode):
        return first <= entry.first_aired < after
    return window.start <= entry.date <= window.end


def _identity(entry: Entry) -> tuple[str, int, str]:
    """The same episode from two sources (shows + premieres) or two chunks is one entry."""
    if isinstance(entry, Episode):
        return "episode", entry.trakt_id, ""
    return "release", entry.movie.trakt_id, entry.kind


def _order(entry: Entry, tz: ZoneInfo) -> tuple[datetime, tuple[str, int, str]]:
    when = entry.first_aired if isinstance(entry, Episode) else datetime.combine(entry.date, time(0), tz)
    return when, _identity(entry)
