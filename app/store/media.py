"""The poster cache's rows: every SQL statement about what TMDB said of a title.

Why one module: the poster service (`app.feeds.posters`) decides which title to look up by which id
and how long an answer holds; how a lease is a compare-and-set, and in which order concurrent
instances lock the rows, is the store's business. The rows are keyed by how we asked TMDB
(`MediaKey`), so a title found by its IMDb id and one known by its TMDB id share nothing but the
details row they lead to.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from app.core.clock import Clock
from app.store.engine import upsert
from app.store.tables import MediaItem

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # fetched_at of a row leased before any answer: not fresh
_KEY_COLUMNS = (MediaItem.media_type, MediaItem.id_source, MediaItem.external_id)
_KEY_NAMES = ("media_type", "id_source", "external_id")
_ANSWER_COLUMNS = ("tmdb_id", "poster_path", "fetched_at", "lease_until")


class MediaKey(NamedTuple):
    """A `media_cache` row's primary key: how TMDB was asked about a title."""

    media_type: str  # tv | movie
    id_source: str  # tmdb | imdb | tvdb
    external_id: str

    def where(self) -> ColumnElement[bool]:
        return and_(*(column == value for column, value in zip(_KEY_COLUMNS, self, strict=True)))


@dataclass(frozen=True, slots=True)
class MediaRow:
    """What TMDB said: a TMDB id (None = unknown title) and a poster path (None = no poster)."""

    tmdb_id: int | None
    poster_path: str | None
    fetched_at: datetime


class MediaStore:
    """The `media_cache` table: answers, placeholders and the leases that guard TMDB calls."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def load(self, keys: Collection[MediaKey]) -> dict[MediaKey, MediaRow | None]:
        """Every key's row, None for the absent ones (so nobody reads them again)."""
        async with self._sessions() as session:
            rows = await session.execute(select(MediaItem).where(tuple_(*_KEY_COLUMNS).in_(keys)))
            found = {
                MediaKey(row.media_type, row.id_source, row.external_id): MediaRow(
                    row.tmdb_id, row.poster_path, row.fetched_at
                )
                for row in rows.scalars()
            }
        return {key: found.get(key) for key in keys}

    async def take_leases(
        self, keys: Collection[MediaKey], *, answered_within: timedelta, lease: timedelta
    ) -> set[MediaKey]:
        """Insert absent rows as placeholders, then compare-and-set every free lease: one transaction.

        A lease is granted only on a row not answered within `answered_within`, so a process that
        arrives just after another one stored an answer does not ask TMDB again. Rows go in key
        order so that instances racing for overlapping titles lock them in the same order.
        """
        now = self._clock()
        ordered = sorted(set(keys))
        placeholders = [
            {
                **dict(zip(_KEY_NAMES, key, strict=True)),
                "tmdb_id": None,
                "poster_path": None,
                "fetched_at": NEVER,
                "lease_until": None,
            }
            for key in ordered
        ]
        async with self._sessions.begin() as session:
            await upsert(session, MediaItem, placeholders, _KEY_NAMES)
            won = await session.execute(
                update(MediaItem)
                .where(
                    tuple_(*_KEY_COLUMNS).in_(ordered),
                    or_(MediaItem.lease_until.is_(None), MediaItem.lease_until < now),
                    MediaItem.fetched_at <= now - answered_within,
                )
                .values(lease_until=now + lease)
                .returning(*_KEY_COLUMNS)
                .execution_options(synchronize_session=False)
            )
            return {MediaKey(*row) for row in won}

    async def leased(self, key: MediaKey) -> bool:
        """Whether some process holds the row's lease now."""
        async with self._sessions() as session:
            until = await session.scalar(select(MediaItem.lease_until).where(key.where()))
        return until is not None and until >= self._clock()

    async def release(self, key: MediaKey) -> None:
        """Give the lease back with nothing remembered: the next asker, here or elsewhere, tries again."""
        async with self._sessions.begin() as session:
            await session.execute(update(MediaItem).where(key.where()).values(lease_until=None))

    async def store(self, answers: Sequence[tuple[MediaKey, MediaRow]]) -> None:
        """Upsert the answers (which ends their leases) in one statement, in key order so concurrent
        instances lock alike.

        Two titles can share an id (one IMDb id found for both): the later answer wins, since one
        statement may not update a row twice.
        """
        latest = dict(answers)
        async with self._sessions.begin() as session:
            await upsert(
                session,
                MediaItem,
                [
                    {
                        **dict(zip(_KEY_NAMES, key, strict=True)),
                        "tmdb_id": latest[key].tmdb_id,
                        "poster_path": latest[key].poster_path,
                        "fetched_at": latest[key].fetched_at,
                        "lease_until": None,
                    }
                    for key in sorted(latest)
                ],
                _KEY_NAMES,
                _ANSWER_COLUMNS,
            )
