"""The calendar cache's rows: every SQL statement about cached Trakt calendar chunks.

Why one module: the calendar (`app.feeds.calendar`) decides what to fetch and when, and the
refresher (`app.workers.refresher`) decides which chunks to renew; neither should have to know how a
lease is a compare-and-set, how the user's data version moves with the content, or which rows a
refresh round may touch. They speak in `ChunkKey`s and `ChunkRow` snapshots; this module turns those
into statements, and keeps the ones that run concurrently in a lock order two instances share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, exists, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from app.core.clock import Clock
from app.store.engine import upsert
from app.store.ratelimits import TraktLimits
from app.store.tables import CalendarChunk, ConnectionStatus, Feed, TraktConnection, TraktLimit, User

MAX_ERROR_LENGTH = 500
_KEY_COLUMNS = (CalendarChunk.user_id, CalendarChunk.source, CalendarChunk.start_date, CalendarChunk.days)
_KEY_NAMES = ("user_id", "source", "start_date", "days")
_ANSWER_COLUMNS = (
    "payload",
    "content_hash",
    "fetched_at",
    "expires_at",
    "last_error",
    "failed_at",
    "retry_after",
    "lease_until",
)


class ChunkKey(NamedTuple):
    """A cache row's primary key, in column order; `source` carries the "+unwatched" suffix."""

    user_id: int
    source: str
    start: date
    days: int

    def where(self) -> ColumnElement[bool]:
        return and_(*(column == value for column, value in zip(_KEY_COLUMNS, self, strict=True)))


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """What a cache row holds, read once: the calendar classifies and assembles from these."""

    payload: list[Any] | None = None  # None until a first good answer
    fetched_at: datetime | None = None
    expires_at: datetime | None = None
    failed_at: datetime | None = None  # when the current outage for this chunk began
    retry_after: datetime | None = None  # no upstream call before this (429, outage backoff)
    lease_until: datetime | None = None  # a process is fetching it until then


@dataclass(frozen=True, slots=True)
class Fetched:
    """A good answer from Trakt for one chunk, with the lifetime the calendar gave it."""

    key: ChunkKey
    payload: list[Any]
    fetched_at: datetime
    expires_at: datetime


class ChunkStore:
    """The `calendar_cache` table, for the calendar that fills it and the refresher that renews it."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def load(self, user_id: int, keys: Collection[ChunkKey]) -> dict[ChunkKey, ChunkRow]:
        """The rows of `keys` that exist (and maybe a few more of the same user: harmless)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CalendarChunk).where(
                    CalendarChunk.user_id == user_id,
                    CalendarChunk.source.in_({key.source for key in keys}),
                    CalendarChunk.start_date.in_({key.start for key in keys}),
                    CalendarChunk.days.in_({key.days for key in keys}),
                )
            )
            return {
                ChunkKey(row.user_id, row.source, row.start_date, row.days): ChunkRow(
                    row.payload,
                    row.fetched_at,
                    row.expires_at,
                    row.failed_at,
                    row.retry_after,
                    row.lease_until,
                )
                for row in rows
            }

    async def take_leases(
        self, keys: Collection[ChunkKey], *, due_before: datetime, lease: timedelta, limits: TraktLimits
    ) -> set[ChunkKey]:
        """Insert the absent placeholder rows, compare-and-set every free lease, spend each user's
        Trakt budget for the leases won: one transaction.

        A lease is only granted while the chunk is still due and outside any backoff, so a process
        that arrives just after another one refreshed does not call Trakt again; and only while the
        user's limits (`app.store.ratelimits`) allow the call, so the call itself need not write again.
        Rows go in key order so that two instances racing for overlapping chunks lock them in the
        same order (PostgreSQL would otherwise be free to deadlock them); the limits row comes last.
        """
        now = self._clock()
        ordered = sorted(keys)
        async with self._sessions.begin() as session:
            placeholders = [dict(zip(_KEY_NAMES, key, strict=True)) for key in ordered]
            await upsert(session, CalendarChunk, placeholders, _KEY_NAMES)
            won = await session.execute(
                update(CalendarChunk)
                .where(
                    tuple_(*_KEY_COLUMNS).in_(ordered),
                    or_(CalendarChunk.lease_until.is_(None), CalendarChunk.lease_until < now),
                    or_(CalendarChunk.retry_after.is_(None), CalendarChunk.retry_after <= now),
                    or_(CalendarChunk.expires_at.is_(None), CalendarChunk.expires_at <= due_before),
                )
                .values(lease_until=now + lease)
                .returning(*_KEY_COLUMNS)
                .execution_options(synchronize_session=False)
            )
            leased = {ChunkKey(*row) for row in won}
            for user_id in sorted({key.user_id for key in leased}):
                mine = sorted(key for key in leased if key.user_id == user_id)
                if not await limits.spend(session, user_id, len(mine)):
                    # Held by a 429 or out of budget: give the leases back, call nothing.
                    await session.execute(
                        update(CalendarChunk)
                        .where(tuple_(*_KEY_COLUMNS).in_(mine))
                        .values(lease_until=None)
                        .execution_options(synchronize_session=False)
                    )
                    leased.difference_update(mine)
        return leased

    async def being_filled(self, key: ChunkKey) -> bool:
        """Whether another process holds the lease of a row that has no data yet."""
        async with self._sessions() as session:
            row = await session.scalar(select(CalendarChunk).where(key.where()))
        return (
            row is not None
            and row.payload is None
            and row.lease_until is not None
            and row.lease_until >= self._clock()
        )

    async def store(self, answers: Sequence[Fetched]) -> None:
        """Upsert the answers and, in the same transaction, bump each user's data version on change.

        The bumps are the first statements so SQLite takes its write lock before reading the old
        hashes; users and rows go in key order so concurrent instances lock them in the same order.
        """
        rows = [
            {
                **dict(zip(_KEY_NAMES, answer.key, strict=True)),
                "payload": answer.payload,
                "content_hash": content_hash(answer.payload),
                "fetched_at": answer.fetched_at,
                "expires_at": answer.expires_at,
                "last_error": None,
                "failed_at": None,
                "retry_after": None,
                "lease_until": None,
            }
            for answer in sorted(answers, key=lambda answer: answer.key)
        ]
        async with self._sessions.begin() as session:
            for user_id in sorted({answer.key.user_id for answer in answers}):
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
            await upsert(session, CalendarChunk, rows, _KEY_NAMES, _ANSWER_COLUMNS)

    async def failing_since(self, key: ChunkKey) -> datetime | None:
        """When the chunk's current outage began; None when its last attempt succeeded."""
        async with self._sessions() as session:
            return await session.scalar(select(CalendarChunk.failed_at).where(key.where()))

    async def record_failure(
        self, key: ChunkKey, *, failed_at: datetime, error: str, retry_after: datetime
    ) -> None:
        """Release the lease and remember the outage; the last good payload stays."""
        await self._release(
            key, failed_at=failed_at, last_error=error[:MAX_ERROR_LENGTH], retry_after=retry_after
        )

    async def release(self, key: ChunkKey) -> None:
        """Give the lease back with nothing learnt: the next asker, here or elsewhere, tries again."""
        await self._release(key)

    async def _release(self, key: ChunkKey, **values: Any) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(CalendarChunk).where(key.where()).values(lease_until=None, **values))

    async def due(
        self,
        *,
        expiring_by: datetime,
        starting_after: date,
        polled_since: datetime,
        limit: int,
    ) -> list[ChunkKey]:
        """Chunks with data that expire by `expiring_by`, outside backoff and lease, starting after
        `starting_after`, soonest expiry first: of users with a feed polled since `polled_since`, a
        working Trakt connection, and no 429 holding them now.
        """
        now = self._clock()
        polled = exists().where(
            Feed.user_id == CalendarChunk.user_id,
            Feed.revoked_at.is_(None),
            Feed.last_polled_at >= polled_since,
        )
        healthy = exists().where(
            TraktConnection.user_id == CalendarChunk.user_id, TraktConnection.status == ConnectionStatus.OK
        )
        held = exists().where(TraktLimit.user_id == CalendarChunk.user_id, TraktLimit.not_before > now)
        async with self._sessions() as session:
            rows = await session.execute(
                select(*_KEY_COLUMNS)
                .where(
                    CalendarChunk.payload.is_not(None),
                    CalendarChunk.expires_at <= expiring_by,
                    CalendarChunk.start_date > starting_after,
                    or_(CalendarChunk.retry_after.is_(None), CalendarChunk.retry_after <= now),
                    or_(CalendarChunk.lease_until.is_(None), CalendarChunk.lease_until < now),
                    polled,
                    healthy,
                    ~held,
                )
                .order_by(CalendarChunk.expires_at)
                .limit(limit)
            )
            return [ChunkKey(*row) for row in rows]


def content_hash(payload: list[Any]) -> str:
    """What the data version compares: a canonical hash of Trakt's answer.

    surrogatepass: a JSON `\\ud800` escape decodes to a lone surrogate, which plain UTF-8 refuses.
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
