"""The calendar proxy cache: window -> grid chunks -> DB cache -> Trakt -> upsert.

Why a cache in the database and not only in memory: calendar apps poll every few minutes, Trakt allows
500 GETs per five minutes per user, and several instances may serve one person. Every answer is built
from cached chunks; Trakt is asked only for chunks that are missing (the caller waits, within a
budget) or stale (the caller gets the stale copy now and the refresh runs in the background). When
Trakt fails, the last good copy keeps being served for up to a week, so a Trakt hiccup never empties
anyone's calendar.

Chunks sit on a fixed grid (EPOCH + k * 33 days) so that every feed, every window and every day of the
year reuses the same rows instead of each window asking Trakt for its own overlapping ranges.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from app.core.clock import Clock, Sleep
from app.core.errors import NeedsReconnect, RateLimited, UpstreamError
from app.core.singleflight import SingleFlight
from app.domain.drops import DropLog
from app.domain.entries import Entry, Episode, parse_episodes, parse_releases
from app.domain.sources import SOURCES, Source
from app.feeds import freshness
from app.store.engine import upsert
from app.store.groupwrite import GroupWriter
from app.store.leases import BatchedLeases, wait_for_release
from app.store.ratelimits import TraktLimits
from app.store.tables import CalendarChunk, ConnectionStatus, User
from app.upstream.connections import ConnectionService
from app.upstream.trakt import TraktClient

log = logging.getLogger(__name__)

Outcome = Literal["fetched", "failed", "reconnect", "skipped"]

EPOCH = date(2000, 1, 1)
CHUNK_DAYS = 33
MIN_BACKOFF = timedelta(minutes=1)  # first retry after an outage; doubles with the outage's length
MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR_LENGTH = 500
UNWATCHED = "+unwatched"  # source key suffix: an ignore_watched calendar is a different Trakt answer
_KEY_COLUMNS = (CalendarChunk.user_id, CalendarChunk.source, CalendarChunk.start_date, CalendarChunk.days)
_KEY_NAMES = ("user_id", "source", "start_date", "days")
_ROW_COLUMNS = (
    "payload",
    "content_hash",
    "fetched_at",
    "expires_at",
    "last_error",
    "failed_at",
    "retry_after",
    "lease_until",
)


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


@dataclass(frozen=True)
class CalendarResult:
    entries: list[Entry]
    fresh_until: datetime  # earliest expiry among the chunks used: memory caches key on it
    stale: bool  # some chunk was served past its expiry
    failing_since: datetime | None  # upstream failing for some chunk since then; None when healthy
    incomplete: bool  # some chunk had no usable data and could not be fetched
    needs_reconnect: bool


@dataclass(frozen=True)
class _Chunk:
    """One cache row's identity, and the Trakt request that fills it."""

    user_id: int
    source: Source
    start: date
    days: int
    ignore_watched: bool

    @property
    def source_key(self) -> str:
        return self.source.name + UNWATCHED if self.ignore_watched else self.source.name

    @property
    def row_key(self) -> tuple[str, date, int]:
        return self.source_key, self.start, self.days

    @property
    def key(self) -> tuple[int, str, date, int]:
        """The primary key of the chunk's cache row, in `_KEY_COLUMNS` order."""
        return self.user_id, self.source_key, self.start, self.days

    def identity(self) -> dict[str, Any]:
        return dict(zip(_KEY_NAMES, self.key, strict=True))

    def where(self) -> ColumnElement[bool]:
        return and_(
            CalendarChunk.user_id == self.user_id,
            CalendarChunk.source == self.source_key,
            CalendarChunk.start_date == self.start,
            CalendarChunk.days == self.days,
        )

    def describe(self) -> str:
        return f"user {self.user_id} {self.source_key} {self.start:%Y-%m-%d}+{self.days}"


@dataclass(frozen=True)
class _Answer:
    chunk: _Chunk
    payload: list[Any]


class CalendarService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        trakt: TraktClient,
        connections: ConnectionService,
        limits: TraktLimits,
        clock: Clock,
        *,
        ttl: timedelta,
        stale_if_error: timedelta = timedelta(days=7),
        wait_budget: float = 3.0,
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.05,
        sleep: Sleep = asyncio.sleep,
        drops: DropLog | None = None,
    ) -> None:
        self._sessions = session_factory
        self.drops = drops or DropLog()  # items dropped while parsing cached chunks, for /metrics
        self._trakt = trakt
        self._connections = connections
        self._limits = limits
        self._clock = clock
        self._ttl = ttl
        self._stale_if_error = stale_if_error
        self._wait_budget = wait_budget
        self._lease = lease
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._flight: SingleFlight[_Chunk, Outcome] = SingleFlight()
        self._answers: GroupWriter[_Answer] = GroupWriter(self._store)
        self._background: set[asyncio.Future[Any]] = set()

    async def entries(
        self, user_id: int, sources: Sequence[Source], window: Window, *, ignore_watched: bool = False
    ) -> CalendarResult:
        """The window's entries from cache, fetching what is missing and refreshing what is stale."""
        chunks = [
            _Chunk(user_id, source, start, days, ignore_watched)
            for source in sources
            for start, days in chunks_for(window)
        ]
        now = self._clock()
        rows = await self._load(user_id, chunks)
        stale = [
            c for c in chunks if self._usable(rows.get(c.row_key), now) and not _fresh(rows[c.row_key], now)
        ]
        missing = [c for c in chunks if not self._usable(rows.get(c.row_key), now)]
        needs_reconnect = held = False
        if stale or missing:
            needs_reconnect = await self._connections.status(user_id) != ConnectionStatus.OK
            # A 429 for this user (heard by any process) holds every chunk, not only the one it hit.
            held = not needs_reconnect and await self._limits.held(user_id)
        if not needs_reconnect and not held:
            background = [
                c for c in stale if _outside_backoff(row := rows[c.row_key], now) and not _leased(row, now)
            ]
            waited = [c for c in missing if _outside_backoff(rows.get(c.row_key), now)]
            started = list(map(asyncio.ensure_future, self._refreshes(background + waited, now)))
            for call in started[: len(background)]:
                self._keep(call)
            calls = started[len(background) :]
            if calls:
                outcomes = await self._wait(calls, has_data=len(missing) < len(chunks))
                needs_reconnect = "reconnect" in outcomes
                rows = await self._load(user_id, chunks)
        return self._assemble(chunks, rows, window, self._clock(), needs_reconnect)

    async def refresh_chunk(
        self,
        user_id: int,
        source: Source,
        start: date,
        days: int,
        ignore_watched: bool,
        *,
        margin: timedelta = timedelta(0),
    ) -> bool:
        """Refresh one chunk if it expires within `margin`; True when this call stored new data.

        For the background refresher: the expiry condition is re-checked in the lease, so of several
        instances that picked the same chunk only one calls Trakt.
        """
        chunk = _Chunk(user_id, source, start, days, ignore_watched)
        [refresh] = self._refreshes([chunk], self._clock() + margin)
        return await refresh == "fetched"

    async def drain(self) -> None:
        """Wait for background refreshes to finish (shutdown, and tests that inspect their effect)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- fetching -------------------------------------------------------------------------------

    async def _wait(self, calls: Sequence[asyncio.Future[Outcome]], *, has_data: bool) -> list[Outcome]:
        """Wait for the fetches, but never past the budget when there is something to answer with."""
        for call in calls:  # whatever happens to this request, the fetches run to the end
            self._keep(call)
        done, _ = await asyncio.wait(calls, timeout=self._wait_budget if has_data else None)
        return [call.result() for call in done]

    def _keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a reference until the task ends, so the event loop cannot garbage-collect it midway."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _refreshes(self, chunks: Sequence[_Chunk], due_before: datetime) -> list[Awaitable[Outcome]]:
        """One refresh per chunk, joining any already running in this process; new ones lease together."""
        leases = BatchedLeases(partial(self._take_leases, due_before))
        return [self._flight.run(chunk, partial(self._start, leases, chunk)) for chunk in chunks]

    def _start(self, leases: BatchedLeases[_Chunk], chunk: _Chunk) -> Awaitable[Outcome]:
        leases.enlist(chunk)
        return self._refresh(chunk, leases)

    async def _refresh(self, chunk: _Chunk, leases: BatchedLeases[_Chunk]) -> Outcome:
        """Fetch one chunk if this process wins its lease; never raises (it often runs unobserved)."""
        try:
            if not await leases.won(chunk):
                await self._await_other(chunk)
                return "skipped"
            return await self._fetch(chunk)
        except Exception:
            log.exception("calendar refresh of %s failed unexpectedly", chunk.describe())
            return "failed"

    async def _fetch(self, chunk: _Chunk) -> Outcome:
        try:
            # One gate for the call and its retry after a refresh: the first attempt uses the spend
            # made with the lease, the retry is charged to the budget like any other GET.
            gate = self._limits.gate(chunk.user_id, prepaid=1)
            payload = await self._connections.call(
                chunk.user_id,
                lambda token: self._trakt.calendar(
                    token,
                    chunk.source,
                    chunk.start,
                    chunk.days,
                    gate=gate,
                    ignore_watched=chunk.ignore_watched,
                ),
            )
        except NeedsReconnect:  # only Trakt refusing the refresh token; a 401 is refreshed first
            await self._release(chunk, {})
            return "reconnect"
        except UpstreamError as exc:
            await self._record_failure(chunk, exc)
            return "failed"
        except Exception:
            await self._release(chunk, {})
            raise
        await self._answers.submit(_Answer(chunk, payload))
        return "fetched"

    async def _take_leases(self, due_before: datetime, chunks: list[_Chunk]) -> set[_Chunk]:
        """Insert the absent placeholder rows, compare-and-set every free lease, spend each user's
        Trakt budget for the leases won: one transaction.

        A lease is only granted while the chunk is still due and outside any backoff, so a process
        that arrives just after another one refreshed does not call Trakt again; and only while the
        user's limits (`app.store.ratelimits`) allow the call, so the call itself need not write again.
        Rows go in key order so that two instances racing for overlapping chunks lock them in the
        same order (PostgreSQL would otherwise be free to deadlock them); the limits row comes last.
        """
        now = self._clock()
        ordered = sorted(chunks, key=lambda chunk: chunk.key)
        async with self._sessions.begin() as session:
            placeholders = [chunk.identity() for chunk in ordered]
            await upsert(session, CalendarChunk, placeholders, _KEY_NAMES)
            won = await session.execute(
                update(CalendarChunk)
                .where(
                    tuple_(*_KEY_COLUMNS).in_([chunk.key for chunk in ordered]),
                    or_(CalendarChunk.lease_until.is_(None), CalendarChunk.lease_until < now),
                    or_(CalendarChunk.retry_after.is_(None), CalendarChunk.retry_after <= now),
                    or_(CalendarChunk.expires_at.is_(None), CalendarChunk.expires_at <= due_before),
                )
                .values(lease_until=now + self._lease)
                .returning(*_KEY_COLUMNS)
                .execution_options(synchronize_session=False)
            )
            keys = {tuple(row) for row in won}
            leased = [chunk for chunk in ordered if chunk.key in keys]
            for user_id in sorted({chunk.user_id for chunk in leased}):
                mine = [chunk.key for chunk in leased if chunk.user_id == user_id]
                if not await self._limits.spend(session, user_id, len(mine)):
                    # Held by a 429 or out of budget: give the leases back, call nothing.
                    await session.execute(
                        update(CalendarChunk)
                        .where(tuple_(*_KEY_COLUMNS).in_(mine))
                        .values(lease_until=None)
                        .execution_options(synchronize_session=False)
                    )
                    keys.difference_update(mine)
        return {chunk for chunk in ordered if chunk.key in keys}

    async def _await_other(self, chunk: _Chunk) -> None:
        """Lost the lease: when we have no data, give the winner (maybe another process) time to store.

        For at most the wait budget, not the lease: the winner may be a process that died holding
        it, and its lease must not hold a feed request until it lapses.
        """
        await wait_for_release(
            partial(self._awaiting, chunk),
            polls=max(1, math.ceil(self._wait_budget / self._poll_interval)),
            interval=self._poll_interval,
            sleep=self._sleep,
        )

    async def _awaiting(self, chunk: _Chunk) -> bool:
        async with self._sessions() as session:
            row = await session.scalar(select(CalendarChunk).where(chunk.where()))
        return row is not None and row.payload is None and _leased(row, self._clock())

    async def _store(self, answers: list[_Answer]) -> None:
        """Upsert the answers and, in the same transaction, bump each user's data version on change.

        The bumps are the first statements so SQLite takes its write lock before reading the old
        hashes; users and rows go in key order so concurrent instances lock them in the same order.
        """
        now = self._clock()
        rows = sorted(
            (
                {
                    **answer.chunk.identity(),
                    "payload": answer.payload,
                    "content_hash": _content_hash(answer.payload),
                    "fetched_at": now,
                    "expires_at": freshness.expires_at(now, answer.chunk.start, self._ttl),
                    "last_error": None,
                    "failed_at": None,
                    "retry_after": None,
                    "lease_until": None,
                }
                for answer in answers
            ),
            key=lambda row: tuple(row[name] for name in _KEY_NAMES),
        )
        async with self._sessions.begin() as session:
            for user_id in sorted({row["user_id"] for row in rows}):
                hashes = [
                    (*(row[name] for name in _KEY_NAMES), row["content_hash"])
                    for row in rows
                    if row["user_id"] == user_id
                ]
                unchanged = (
                    select(func.count())
                    .where(tuple_(*_KEY_COLUMNS, CalendarChunk.content_hash).in_(hashes))
                    .scalar_subquery()
                )
                await session.execute(
                    update(User)
                    .where(User.id == user_id, unchanged < len(hashes))
                    .values(data_version=User.data_version + 1)
                    .execution_options(synchronize_session=False)
                )
            await upsert(session, CalendarChunk, rows, _KEY_NAMES, _ROW_COLUMNS)

    async def _record_failure(self, chunk: _Chunk, error: UpstreamError) -> None:
        """Keep the last good payload; remember when the outage began and when to ask again."""
        now = self._clock()
        async with self._sessions() as session:
            failing_since = await session.scalar(select(CalendarChunk.failed_at).where(chunk.where()))
        if isinstance(error, RateLimited):
            wait = timedelta(seconds=max(error.retry_after, 1.0))
        else:
            # Waiting as long as the outage has lasted doubles the gap between attempts.
            wait = min(MAX_BACKOFF, max(MIN_BACKOFF, now - (failing_since or now)))
        log.warning("calendar %s: %s; next attempt in %s", chunk.describe(), error, wait)
        await self._release(
            chunk,
            {
                "failed_at": failing_since or now,
                "last_error": str(error)[:MAX_ERROR_LENGTH],
                "retry_after": now + wait,
            },
        )

    async def _release(self, chunk: _Chunk, values: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(CalendarChunk).where(chunk.where()).values(lease_until=None, **values)
            )

    # -- answering ------------------------------------------------------------------------------

    async def _load(
        self, user_id: int, chunks: Sequence[_Chunk]
    ) -> dict[tuple[str, date, int], CalendarChunk]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CalendarChunk).where(
                    CalendarChunk.user_id == user_id,
                    CalendarChunk.source.in_({c.source_key for c in chunks}),
                    CalendarChunk.start_date.in_({c.start for c in chunks}),
                    CalendarChunk.days.in_({c.days for c in chunks}),
                )
            )
            return {(row.source, row.start_date, row.days): row for row in rows}

    def _usable(self, row: CalendarChunk | None, now: datetime) -> bool:
        """Data we may answer with: a good payload no older than `stale_if_error`."""
        return (
            row is not None
            and row.payload is not None
            and row.fetched_at is not None
            and now - row.fetched_at < self._stale_if_error
        )

    def _assemble(
        self,
        chunks: Sequence[_Chunk],
        rows: dict[tuple[str, date, int], CalendarChunk],
        window: Window,
        now: datetime,
        needs_reconnect: bool,
    ) -> CalendarResult:
        first, after = window.instants()
        found: dict[tuple[str, int, str], Entry] = {}
        expiries: list[datetime] = []
        failures: list[datetime] = []
        incomplete = False
        for chunk in chunks:
            row = rows.get(chunk.row_key)
            if row is not None and row.failed_at is not None:
                failures.append(row.failed_at)
            if row is None or not self._usable(row, now) or row.expires_at is None:
                incomplete = True
                continue
            expiries.append(row.expires_at)
            for entry in _parse(chunk.source, row.payload or [], self.drops):
                if _in_window(entry, window, first, after):
                    found.setdefault(_identity(entry), entry)
        return CalendarResult(
            entries=sorted(found.values(), key=lambda entry: _order(entry, window.tz)),
            fresh_until=min(expiries, default=now),
            stale=any(expiry <= now for expiry in expiries),
            failing_since=min(failures, default=None),
            incomplete=incomplete,
            needs_reconnect=needs_reconnect,
        )


def parse_source_key(key: str) -> tuple[Source, bool] | None:
    """(source, ignore_watched) of a cache row's source key; None for a source that no longer exists."""
    ignore_watched = key.endswith(UNWATCHED)
    source = SOURCES.get(key.removesuffix(UNWATCHED))
    return None if source is None else (source, ignore_watched)


def _fresh(row: CalendarChunk, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at > now


def _leased(row: CalendarChunk, now: datetime) -> bool:
    return row.lease_until is not None and row.lease_until >= now


def _outside_backoff(row: CalendarChunk | None, now: datetime) -> bool:
    """No 429 Retry-After or outage backoff forbids calling Trakt for this chunk now."""
    return row is None or row.retry_after is None or row.retry_after <= now


def _content_hash(payload: list[Any]) -> str:
    """surrogatepass: a JSON `\\ud800` escape decodes to a lone surrogate, which plain UTF-8 refuses."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _parse(source: Source, payload: Iterable[object], drops: DropLog) -> list[Entry]:
    """Entries of a cached chunk, parsed again on every rendering; bad items go to `drops`."""
    if source.kind == "episodes":
        return list(parse_episodes(payload, drops, source=source.name))
    return list(parse_releases(payload, source.kind, drops, source=source.name))


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
