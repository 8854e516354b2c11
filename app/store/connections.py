"""Trakt connection rows: a person's sealed token pair, its status and the refresh lease, in SQL.

Why every write moves `version`: Trakt refresh tokens are single-use, so one process at a time may
spend one (`app.upstream.connections` decides when). The others watch `version` to learn that the
row moved on: a lease taken, a new pair stored, the grant refused. So no statement here changes a
row without bumping it, and taking the lease is a compare-and-set on it.

Why `locked` opens its transaction with the lock already held (SQLite `BEGIN IMMEDIATE`, PostgreSQL
`SELECT ... FOR UPDATE` of the one row): between Trakt spending the old refresh token and our commit
of the new pair, a crash loses the grant, so the write lock is taken before the spend and the new
pair is the first write after it. `app.upstream.connections` explains the trade in full.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.engine import begin_writing, upsert
from app.store.tables import ConnectionStatus, TraktConnection

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    """What deciding about a refresh needs; the defaults are the row of a user who never connected."""

    access_token: str = field(default="", repr=False)  # encrypted
    refresh_token: str = field(default="", repr=False)  # encrypted
    expires_at: datetime | None = None
    status: str = ConnectionStatus.MISSING
    version: int = 0
    lease_until: datetime | None = None

    def leased(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until >= now


@dataclass(frozen=True, slots=True)
class SealedPair:
    """A token pair as the row keeps it: both tokens encrypted by the vault."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime


_COLUMNS = (
    TraktConnection.access_token,
    TraktConnection.refresh_token,
    TraktConnection.expires_at,
    TraktConnection.status,
    TraktConnection.version,
    TraktConnection.lease_until,
)


class ConnectionStore:
    """The `trakt_connections` rows, through one session factory (the shared one, or a token lane's)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def load(self, user_id: int) -> ConnectionRow:
        async with self._sessions() as session:
            found = (
                await session.execute(select(*_COLUMNS).where(TraktConnection.user_id == user_id))
            ).one_or_none()
        return ConnectionRow() if found is None else ConnectionRow(*found)

    async def save(self, user_id: int, pair: SealedPair, now: datetime) -> None:
        """Store a new grant (sign-in or reconnect): status back to ok, lease cleared, version moved.

        Insert-if-absent then update, so the version bump (which waiting refreshers watch) is one
        statement on both backends and two first sign-ins cannot collide on the unique user id.
        """
        values = _paired(pair, now)
        async with self._sessions.begin() as session:
            await upsert(session, TraktConnection, {"user_id": user_id, "version": 0, **values}, ["user_id"])
            await _write(session, user_id, values)

    async def mark_needs_reconnect(self, user_id: int, reason: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await _write(session, user_id, _needs_reconnect(reason, now))

    async def take_lease(self, user_id: int, version: int, now: datetime, until: datetime) -> int | None:
        """Compare-and-set: the new version when the caller won the right to refresh, else None."""
        async with self._sessions.begin() as session:
            won: int | None = await session.scalar(
                update(TraktConnection)
                .where(
                    TraktConnection.user_id == user_id,
                    TraktConnection.version == version,
                    or_(TraktConnection.lease_until.is_(None), TraktConnection.lease_until < now),
                )
                .values(lease_until=until, version=TraktConnection.version + 1)
                .returning(TraktConnection.version)
            )
        return won

    @asynccontextmanager
    async def locked(self, user_id: int) -> AsyncIterator[LockedConnection]:
        """The row read in a transaction that already holds what writing it needs (see module doc).

        Leaving without one of `LockedConnection`'s writes rolls back, which releases the lock.
        """
        async with self._sessions() as session:
            await begin_writing(session)
            query = select(*_COLUMNS).where(TraktConnection.user_id == user_id).with_for_update()
            found = (await session.execute(query)).one_or_none()
            try:
                yield LockedConnection(session, user_id, None if found is None else ConnectionRow(*found))
            finally:
                if session.in_transaction():
                    await session.rollback()


class LockedConnection:
    """One locked row: `row` as read under the lock (None when there is none); each write commits."""

    def __init__(self, session: AsyncSession, user_id: int, row: ConnectionRow | None) -> None:
        self._session = session
        self._user_id = user_id
        self.row = row

    async def store_pair(self, pair: SealedPair, now: datetime) -> None:
        """The refreshed pair: healthy again, lease released. `now` is when the answer is written,
        which is what the durability suite measures the refresh window against."""
        await self._commit(_paired(pair, now))

    async def needs_reconnect(self, reason: str, now: datetime) -> None:
        await self._commit(_needs_reconnect(reason, now))

    async def release(self, error: str) -> None:
        """The refresh failed for now: free the lease for the next try and say why."""
        await self._commit({"lease_until": None, "last_error": error[:MAX_ERROR_LENGTH]})

    async def _commit(self, values: Mapping[str, Any]) -> None:
        await _write(self._session, self._user_id, values)
        await self._session.commit()


def _paired(pair: SealedPair, now: datetime) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": pair.expires_at,
        "status": ConnectionStatus.OK,
        "last_error": None,
        "lease_until": None,
        "updated_at": now,
    }


def _needs_reconnect(reason: str, now: datetime) -> dict[str, Any]:
    return {
        "status": ConnectionStatus.NEEDS_RECONNECT,
        "last_error": reason[:MAX_ERROR_LENGTH],
        "lease_until": None,
        "updated_at": now,
    }


async def _write(session: AsyncSession, user_id: int, values: Mapping[str, Any]) -> None:
    """Every write moves `version`, which is what waiting refreshers in other processes watch."""
    await session.execute(
        update(TraktConnection)
        .where(TraktConnection.user_id == user_id)
        .values(**values, version=TraktConnection.version + 1)
    )
