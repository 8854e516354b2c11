"""Poster URLs for shows and movies, through the media cache.

Why a cache in the database: every feed of every user shows mostly the same few hundred titles, and a
title's poster rarely changes, so TMDB is asked about each title at most once a week across all users
(and across instances). Why so forgiving: a poster is decoration. No token, TMDB down, unknown title,
or TMDB slower than `timeout` all mean "no poster this time", never an error and never a slow feed;
lookups that miss the deadline keep running in the background and land in the cache for next time.
Only TMDB's 404 is remembered as a miss; an outage is not, so posters come back when TMDB does.

Why leases: instances (and workers) asked for the same cold feed at once would each find the cache
empty and ask TMDB about every title. As with calendar chunks, a process leases the rows it is about
to ask about (one transaction per batch, see `app.store.leases`), and the others wait for the winner's
answer instead of repeating the call. The rows, and every statement about them, are `app.store.media`;
this module is the lookup: which id to ask TMDB by, and how long each kind of answer holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock, Sleep
from app.core.errors import TitleNotFound, UpstreamError
from app.core.singleflight import SingleFlight
from app.core.tasks import Background
from app.domain.entries import Entry, Episode
from app.domain.posterkey import PosterKey, poster_key
from app.store.groupwrite import GroupWriter
from app.store.leases import BatchedLeases, Patience
from app.store.media import MediaKey, MediaRow, MediaStore
from app.upstream.tmdb import IdSource, MediaType, TmdbClient

log = logging.getLogger(__name__)

Answer = tuple[int | None, str | None]  # what TMDB said: (TMDB id, poster path); (None, None) = unknown

MAX_CONCURRENT_LOOKUPS = 8  # TMDB allows ~50 requests/s; a feed must not burst past that alone
NO_POSTER_TTL = timedelta(days=1)  # TMDB knows the title but has no poster yet: ask again sooner


class _Unsettled(Exception):
    """Another process held the lease and left no fresh answer (TMDB failed there, or it gave up)."""


@dataclass(frozen=True, slots=True)
class _Title:
    """What we know about one show or movie from Trakt, enough to find it on TMDB."""

    key: PosterKey
    media_type: MediaType
    tmdb_id: int | None
    imdb_id: str | None
    tvdb_id: int | None

    def external_ids(self) -> list[tuple[IdSource, str]]:
        """IDs to look the title up by when Trakt has no TMDB id, best first."""
        found: list[tuple[IdSource, str]] = []
        if self.imdb_id:
            found.append(("imdb", self.imdb_id))
        if self.tvdb_id is not None:
            found.append(("tvdb", str(self.tvdb_id)))
        return found

    def first_cache_key(self) -> MediaKey:
        if self.tmdb_id is not None:
            return MediaKey(self.media_type, "tmdb", str(self.tmdb_id))
        source, external = self.external_ids()[0]
        return MediaKey(self.media_type, source, external)


_Rows = dict[MediaKey, MediaRow | None]  # the rows one call loaded; None = known to be absent


class PosterService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        tmdb: TmdbClient | None,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(days=7),
        miss_ttl: timedelta = timedelta(days=7),
        timeout: float = 2.0,
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.05,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._media = MediaStore(session_factory, clock)
        self._tmdb = tmdb
        self._clock = clock
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._timeout = timeout
        self._lease = lease
        # Lost a lease: the winner has until its lease lapses; we run behind the caller's deadline.
        self._patience = Patience(lease.total_seconds(), poll_interval, sleep)
        # A row answered within the shortest lifetime is fresh whatever it holds: no lease for it.
        self._shortest_ttl = min(ttl, miss_ttl, NO_POSTER_TTL)
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_LOOKUPS)
        self._flight: SingleFlight[PosterKey, tuple[str | None, bool]] = SingleFlight()
        self._asks: SingleFlight[MediaKey, MediaRow] = SingleFlight()
        # A cold feed's dozen lookups answer at about the same time; one writer stores them together.
        self._writes: GroupWriter[tuple[MediaKey, MediaRow]] = GroupWriter(self._media.store)
        self._background = Background("poster lookup")

    async def posters(self, entries: Iterable[Entry]) -> tuple[dict[PosterKey, str], bool]:
        """(poster URL per show/movie, complete?): complete is False when some lookup failed or ran late."""
        tmdb = self._tmdb
        titles = {title.key: title for title in map(_title, entries) if _searchable(title)}
        if tmdb is None or not titles:
            return {}, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        cached = await self._media.load([title.first_cache_key() for title in titles.values()])
        leases: BatchedLeases[MediaKey] = BatchedLeases(self._take_leases)
        lookups = {  # those that miss the deadline go on in the background and fill the cache
            key: self._background.start(
                self._flight.run(key, partial(self._lookup, tmdb, title, cached, leases))
            )
            for key, title in titles.items()
        }
        done, pending = await asyncio.wait(lookups.values(), timeout=max(0.0, deadline - loop.time()))
        urls: dict[PosterKey, str] = {}
        complete = not pending
        for key, task in lookups.items():
            if task not in done:
                continue
            path, ok = task.result()
            complete = complete and ok
            if path is not None:
                urls[key] = tmdb.image_url(path)
        return urls, complete

    async def drain(self) -> None:
        """Wait for lookups that outlived their request (shutdown, and tests that inspect the cache)."""
        await self._background.drain()

    async def _lookup(
        self, tmdb: TmdbClient, title: _Title, cached: _Rows, leases: BatchedLeases[MediaKey]
    ) -> tuple[str | None, bool]:
        """(poster path or None, whether the answer is final); never raises, it may run unobserved."""
        try:
            return await self._poster_path(tmdb, title, cached, leases)
        except UpstreamError as exc:
            log.info("TMDB lookup for %s %s failed: %s", title.media_type, title.key[1], exc)
        except _Unsettled:
            log.info(
                "TMDB lookup for %s %s was another instance's and has no answer yet",
                title.media_type,
                title.key[1],
            )
        except Exception:
            log.exception("poster lookup for %s %s crashed", title.media_type, title.key[1])
        return None, False

    async def _poster_path(
        self, tmdb: TmdbClient, title: _Title, cached: _Rows, leases: BatchedLeases[MediaKey]
    ) -> tuple[str | None, bool]:
        """Through the cache: find the TMDB id when Trakt lacks it, then the title's details; and
        whether that is final (False when an expired answer stood in for one TMDB could not give).

        No database read comes before the first `_answer` of a title whose row was loaded: so every
        cold title of one call enlists its lease before the first of them takes the batch.
        """
        tmdb_id, final = title.tmdb_id, True
        if tmdb_id is None:
            tmdb_id, final = await self._find(tmdb, title, cached, leases)
            if tmdb_id is None:
                return None, final
        key = MediaKey(title.media_type, "tmdb", str(tmdb_id))
        row, renewed = await self._current(
            leases, key, cached, partial(_details, tmdb, title.media_type, tmdb_id)
        )
        return row.poster_path, final and renewed

    async def _find(
        self, tmdb: TmdbClient, title: _Title, cached: _Rows, leases: BatchedLeases[MediaKey]
    ) -> tuple[int | None, bool]:
        """The TMDB id by IMDb id, then TVDB id, and whether that is final; each answer is cached."""
        final = True
        for source, external in title.external_ids():
            key = MediaKey(title.media_type, source, external)
            ask = partial(_found, tmdb, source, external, title.media_type)
            row, renewed = await self._current(leases, key, cached, ask)
            final = final and renewed
            if row.tmdb_id is not None:
                return row.tmdb_id, final
        return None, final

    async def _current(
        self,
        leases: BatchedLeases[MediaKey],
        key: MediaKey,
        cached: _Rows,
        ask: Callable[[], Awaitable[Answer]],
    ) -> tuple[MediaRow, bool]:
        """The row for `key`, asked anew when absent or expired, and whether it is current.

        When renewing fails, the expired row stands in, not current, so it is asked again soon: a
        poster must not leave the feed for the length of a TMDB outage, and come back after it, each
        time changing every event of that title."""
        row = await self._cached(key, cached)
        if row is not None and self._fresh(key, row):
            return row, True
        try:
            return await self._answer(leases, key, ask), True
        except (UpstreamError, _Unsettled) as exc:
            if row is None:
                raise
            log.info("TMDB lookup of %s %s %s failed (%s); its earlier answer stands in", *key, exc)
            return row, False

    async def _answer(
        self, leases: BatchedLeases[MediaKey], key: MediaKey, ask: Callable[[], Awaitable[Answer]]
    ) -> MediaRow:
        """TMDB's answer for `key`, asked by one of all the processes that want it at once."""
        return await self._asks.run(key, partial(self._start, leases, key, ask))

    def _start(
        self, leases: BatchedLeases[MediaKey], key: MediaKey, ask: Callable[[], Awaitable[Answer]]
    ) -> Awaitable[MediaRow]:
        leases.enlist(key)  # only the process's one flight for the key enlists: a won lease is used
        return self._ask(leases, key, ask)

    async def _ask(
        self, leases: BatchedLeases[MediaKey], key: MediaKey, ask: Callable[[], Awaitable[Answer]]
    ) -> MediaRow:
        """Ask TMDB if this process wins the lease, else wait for the winner's row."""
        if not await leases.won(key):
            await self._patience.released(partial(self._media.leased, key))
            row = (await self._media.load([key]))[key]
            if row is None or not self._fresh(key, row):
                raise _Unsettled(key)
            return row
        try:
            try:
                async with self._limit:
                    tmdb_id, poster_path = await ask()
            except TitleNotFound:
                tmdb_id, poster_path = None, None
        except Exception:
            await self._media.release(key)  # not remembered: the next asker, here or elsewhere, tries again
            raise
        return await self._remember(key, tmdb_id, poster_path)

    def _fresh(self, key: MediaKey, row: MediaRow) -> bool:
        """Whether `row` still holds; details rows (by TMDB id) without a poster are asked sooner."""
        if row.tmdb_id is None:
            ttl = self._miss_ttl
        elif key[1] == "tmdb" and row.poster_path is None:
            ttl = min(self._miss_ttl, NO_POSTER_TTL)
        else:
            ttl = self._ttl
        return self._clock() - row.fetched_at < ttl

    async def _take_leases(self, keys: list[MediaKey]) -> set[MediaKey]:
        """Leases on rows not answered within the shortest lifetime: whatever those hold is fresh."""
        return await self._media.take_leases(keys, answered_within=self._shortest_ttl, lease=self._lease)

    async def _cached(self, key: MediaKey, cached: _Rows) -> MediaRow | None:
        """The row as loaded for this call, or read now for a key the call did not know it needed."""
        return cached[key] if key in cached else (await self._media.load([key]))[key]

    async def _remember(self, key: MediaKey, tmdb_id: int | None, poster_path: str | None) -> MediaRow:
        """Store TMDB's answer (which ends this process's lease on the row) and return it as cached."""
        answer = MediaRow(tmdb_id, poster_path, self._clock())
        await self._writes.submit((key, answer))
        return answer


async def _details(tmdb: TmdbClient, media_type: MediaType, tmdb_id: int) -> Answer:
    return tmdb_id, await tmdb.poster_path(media_type, tmdb_id)


async def _found(tmdb: TmdbClient, source: IdSource, external: str, media_type: MediaType) -> Answer:
    return await tmdb.find(source, external, media_type), None


def _title(entry: Entry) -> _Title:
    if isinstance(entry, Episode):
        show = entry.show
        return _Title(poster_key(show), "tv", show.tmdb_id, show.imdb_id, show.tvdb_id)
    movie = entry.movie
    return _Title(poster_key(movie), "movie", movie.tmdb_id, movie.imdb_id, None)


def _searchable(title: _Title) -> bool:
    return title.tmdb_id is not None or bool(title.external_ids())
