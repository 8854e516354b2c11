"""Poster URLs for shows and movies, through the media cache.

Why a cache in the database: every feed of every user shows mostly the same few hundred titles, and a
title's poster rarely changes, so TMDB is asked about each title at most once a week across all users
(and across instances). Why so forgiving: a poster is decoration. No token, TMDB down, unknown title,
or TMDB slower than `timeout` all mean "no poster this time", never an error and never a slow feed;
lookups that miss the deadline keep running in the background and land in the cache for next time.
Only TMDB's 404 is remembered as a miss; an outage is not, so posters come back when TMDB does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.db import upsert
from app.entries import Entry, Episode
from app.groupwrite import GroupWriter
from app.models import MediaItem
from app.singleflight import SingleFlight
from app.tmdb import IdSource, MediaType, NotFound, TmdbClient
from app.upstream import UpstreamError

log = logging.getLogger(__name__)

PosterKey = tuple[Literal["show", "movie"], int]  # equals app.ics.PosterKey: ("show", show.trakt_id)
CacheKey = tuple[str, str, str]  # (media_type, id_source, external_id), the media_cache primary key

MAX_CONCURRENT_LOOKUPS = 8  # TMDB allows ~50 requests/s; a feed must not burst past that alone
NO_POSTER_TTL = timedelta(days=1)  # TMDB knows the title but has no poster yet: ask again sooner


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

    def first_cache_key(self) -> CacheKey:
        if self.tmdb_id is not None:
            return self.media_type, "tmdb", str(self.tmdb_id)
        source, external = self.external_ids()[0]
        return self.media_type, source, external


@dataclass(frozen=True, slots=True)
class _Cached:
    tmdb_id: int | None
    poster_path: str | None
    fetched_at: datetime


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
    ) -> None:
        self._sessions = session_factory
        self._tmdb = tmdb
        self._clock = clock
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._timeout = timeout
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_LOOKUPS)
        self._flight: SingleFlight[PosterKey, tuple[str | None, bool]] = SingleFlight()
        # A cold feed's dozen lookups answer at about the same time; one writer stores them together.
        self._writes: GroupWriter[dict[str, Any]] = GroupWriter(self._store)
        self._background: set[asyncio.Future[Any]] = set()

    async def posters(self, entries: Iterable[Entry]) -> tuple[dict[PosterKey, str], bool]:
        """(poster URL per show/movie, complete?): complete is False when some lookup failed or ran late."""
        tmdb = self._tmdb
        titles = {title.key: title for title in map(_title, entries) if _searchable(title)}
        if tmdb is None or not titles:
            return {}, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        cached = await self._load([title.first_cache_key() for title in titles.values()])
        lookups = {
            key: asyncio.ensure_future(self._flight.run(key, partial(self._lookup, tmdb, title, cached)))
            for key, title in titles.items()
        }
        done, pending = await asyncio.wait(lookups.values(), timeout=max(0.0, deadline - loop.time()))
        for task in pending:
            self._keep(task)
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
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a reference until the task ends, so the event loop cannot garbage-collect it midway."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _lookup(
        self, tmdb: TmdbClient, title: _Title, cached: dict[CacheKey, _Cached]
    ) -> tuple[str | None, bool]:
        """(poster path or None, whether the answer is final); never raises, it may run unobserved."""
        try:
            return await self._poster_path(tmdb, title, cached), True
        except UpstreamError as exc:
            log.info("TMDB lookup for %s %s failed: %s", title.media_type, title.key[1], exc)
        except Exception:
            log.exception("poster lookup for %s %s crashed", title.media_type, title.key[1])
        return None, False

    async def _poster_path(
        self, tmdb: TmdbClient, title: _Title, cached: dict[CacheKey, _Cached]
    ) -> str | None:
        """Through the cache: find the TMDB id when Trakt lacks it, then the title's details."""
        tmdb_id = title.tmdb_id
        if tmdb_id is None:
            tmdb_id = await self._find(tmdb, title, cached)
            if tmdb_id is None:
                return None
        key: CacheKey = (title.media_type, "tmdb", str(tmdb_id))
        row = cached.get(key) or await self._read(key)
        if row is not None and self._fresh(row, details=True):
            return row.poster_path
        try:
            async with self._limit:
                path = await tmdb.poster_path(title.media_type, tmdb_id)
        except NotFound:
            await self._remember(key, None, None)
            return None
        await self._remember(key, tmdb_id, path)
        return path

    async def _find(self, tmdb: TmdbClient, title: _Title, cached: dict[CacheKey, _Cached]) -> int | None:
        """The TMDB id by IMDb id, then TVDB id; each answer (found or not) is cached."""
        for source, external in title.external_ids():
            key: CacheKey = (title.media_type, source, external)
            row = cached.get(key) or await self._read(key)
            if row is not None and self._fresh(row, details=False):
                found = row.tmdb_id
            else:
                try:
                    async with self._limit:
                        found = await tmdb.find(source, external, title.media_type)
                except NotFound:
                    found = None
                await self._remember(key, found, None)
            if found is not None:
                return found
        return None

    def _fresh(self, row: _Cached, *, details: bool) -> bool:
        if row.tmdb_id is None:
            ttl = self._miss_ttl
        elif details and row.poster_path is None:
            ttl = min(self._miss_ttl, NO_POSTER_TTL)
        else:
            ttl = self._ttl
        return self._clock() - row.fetched_at < ttl

    async def _load(self, keys: list[CacheKey]) -> dict[CacheKey, _Cached]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(MediaItem).where(
                    tuple_(MediaItem.media_type, MediaItem.id_source, MediaItem.external_id).in_(keys)
                )
            )
            return {
                (row.media_type, row.id_source, row.external_id): _Cached(
                    row.tmdb_id, row.poster_path, row.fetched_at
                )
                for row in rows.scalars()
            }

    async def _read(self, key: CacheKey) -> _Cached | None:
        return (await self._load([key])).get(key)

    async def _remember(self, key: CacheKey, tmdb_id: int | None, poster_path: str | None) -> None:
        media_type, id_source, external_id = key
        await self._writes.submit(
            {
                "media_type": media_type,
                "id_source": id_source,
                "external_id": external_id,
                "tmdb_id": tmdb_id,
                "poster_path": poster_path,
                "fetched_at": self._clock(),
            }
        )

    async def _store(self, rows: list[dict[str, Any]]) -> None:
        """Upsert the rows in one statement, in key order so concurrent instances lock alike.

        Two titles can share an id (one IMDb id found for both): the later answer wins, since one
        statement may not update a row twice.
        """
        keys = ("media_type", "id_source", "external_id")
        latest = {tuple(row[name] for name in keys): row for row in rows}
        async with self._sessions.begin() as session:
            await session.execute(
                upsert(
                    MediaItem,
                    [latest[key] for key in sorted(latest)],
                    keys,
                    ["tmdb_id", "poster_path", "fetched_at"],
                    session.get_bind().dialect.name,
                )
            )


def _title(entry: Entry) -> _Title:
    if isinstance(entry, Episode):
        show = entry.show
        return _Title(("show", show.trakt_id), "tv", show.tmdb_id, show.imdb_id, show.tvdb_id)
    movie = entry.movie
    return _Title(("movie", movie.trakt_id), "movie", movie.tmdb_id, movie.imdb_id, None)


def _searchable(title: _Title) -> bool:
    return title.tmdb_id is not None or bool(title.external_ids())
