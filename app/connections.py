"""Trakt tokens per user: stored encrypted, refreshed before they expire, and refreshed exactly once.

Why the ceremony around refresh: Trakt refresh tokens are single-use. If two requests (or two
instances on one PostgreSQL) both spent the same refresh token, the loser would get `invalid_grant`
and the user would be told to sign in again for nothing. So one process per user wins a lease on the
connection row (a compare-and-set on `version`), spends the token, commits the new pair before anyone
uses it, and releases the lease; everyone else polls the row until it moves. Inside a process a
`SingleFlight` keeps concurrent callers from even racing for the lease.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.crypto import Vault
from app.db import upsert
from app.models import TraktConnection
from app.singleflight import SingleFlight
from app.trakt import TokenSet, TraktClient
from app.upstream import AuthRevoked, Sleep, UpstreamError

log = logging.getLogger(__name__)


STATUS_OK = "ok"
STATUS_NEEDS_RECONNECT = "needs_reconnect"
STATUS_MISSING = "missing"
MAX_ERROR_LENGTH = 500


class NeedsReconnect(Exception):
    """The user must sign in with Trakt again (grant revoked, or never made); carries no secret."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} must reconnect Trakt")
        self.user_id = user_id


class RefreshBusy(UpstreamError):
    """Another process has held the refresh lease for too long and our access token has expired."""


@dataclass(frozen=True, slots=True)
class _Row:
    access_token: str = ""  # encrypted
    refresh_token: str = ""  # encrypted
    expires_at: datetime | None = None
    status: str = STATUS_MISSING
    version: int = 0
    lease_until: datetime | None = None

    def leased(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until >= now


class ConnectionService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        vault: Vault,
        trakt: TraktClient,
        clock: Clock,
        *,
        refresh_margin: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.05,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._sessions = session_factory
        self._vault = vault
        self._trakt = trakt
        self._clock = clock
        self._margin = refresh_margin
        self._lease = lease
        self._poll_interval = poll_interval
        # A waiter gives up after about one lease of polling: a live winner has finished by then, and
        # a crashed one's lease lapses so that a later call takes over.
        self._max_polls = max(1, math.ceil(lease.total_seconds() / poll_interval))
        self._sleep = sleep
        self._flight: SingleFlight[int, str] = SingleFlight()

    async def save(self, user_id: int, tokens: TokenSet) -> None:
        """Store a new grant (sign-in or reconnect): status back to ok, lease cleared, version moved.

        Insert-if-absent then update, so the version bump (which waiting refreshers watch) is one
        statement on both backends and two first sign-ins cannot collide on the unique user id.
        """
        values = self._stored(tokens)
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            await session.execute(
                upsert(
                    TraktConnection, {"user_id": user_id, "version": 0, **values}, ["user_id"], [], dialect
                )
            )
            await self._update(session, user_id, values)

    def _stored(self, tokens: TokenSet) -> dict[str, Any]:
        """A fresh pair as the connection row keeps it: encrypted, healthy, lease released."""
        return {
            "access_token": self._vault.encrypt(tokens.access_token),
            "refresh_token": self._vault.encrypt(tokens.refresh_token),
            "expires_at": tokens.expires_at,
            "status": STATUS_OK,
            "last_error": None,
            "lease_until": None,
            "updated_at": self._clock(),
        }

    async def access_token(self, user_id: int) -> str:
        """A usable access token, refreshed first when it expires within the refresh margin.

        Raises NeedsReconnect when the grant is gone; an UpstreamError only when Trakt cannot refresh
        and the stored token has already expired.
        """
        return await self._flight.run(user_id, lambda: self._resolve(user_id))

    async def mark_needs_reconnect(self, user_id: int, reason: str) -> None:
        """Record that Trakt refused the grant, so no one spends upstream calls on it until sign-in."""
        async with self._sessions.begin() as session:
            await self._update(
                session,
                user_id,
                {
                    "status": STATUS_NEEDS_RECONNECT,
                    "last_error": reason[:MAX_ERROR_LENGTH],
                    "lease_until": None,
                    "updated_at": self._clock(),
                },
            )

    async def status(self, user_id: int) -> str:
        """ "ok", "needs_reconnect", or "missing" when the user never connected."""
        return (await self._load(user_id)).status

    async def _resolve(self, user_id: int) -> str:
        waited = False
        row = _Row()
        now = self._clock()
        for _ in range(self._max_polls):
            row = await self._load(user_id)
            now = self._clock()
            if row.status != STATUS_OK or row.expires_at is None:
                raise NeedsReconnect(user_id)
            if row.expires_at - self._margin > now:
                return self._vault.decrypt(row.access_token)
            if not row.leased(now):
                # Someone else just tried and failed for a passing reason; the token still works, so
                # use it rather than have every waiter call Trakt in turn.
                if waited and row.expires_at > now:
                    return self._vault.decrypt(row.access_token)
                if await self._take_lease(user_id, row.version, now) is not None:
                    return await self._refresh(user_id, row)
            waited = True
            await self._sleep(self._poll_interval)
        if row.expires_at is not None and row.expires_at > now:
            return self._vault.decrypt(row.access_token)
        raise RefreshBusy(f"user {user_id}: token refresh still in progress elsewhere")

    async def _refresh(self, user_id: int, row: _Row) -> str:
        """Spend the refresh token (we hold the lease) and commit the new pair before returning it."""
        try:
            tokens = await self._trakt.refresh(self._vault.decrypt(row.refresh_token))
        except AuthRevoked as exc:
            log.warning("user %s: Trakt refused the refresh token (%s); needs reconnect", user_id, exc)
            await self.mark_needs_reconnect(user_id, str(exc))
            raise NeedsReconnect(user_id) from None
        except UpstreamError as exc:
            log.warning("user %s: token refresh failed (%s)", user_id, exc)
            async with self._sessions.begin() as session:
                await self._update(
                    session, user_id, {"lease_until": None, "last_error": str(exc)[:MAX_ERROR_LENGTH]}
                )
            if row.expires_at is not None and row.expires_at > self._clock():
                return self._vault.decrypt(row.access_token)
            raise
        async with self._sessions.begin() as session:
            await self._update(session, user_id, self._stored(tokens))
        log.info("user %s: Trakt token refreshed", user_id)
        return tokens.access_token

    async def _take_lease(self, user_id: int, version: int, now: datetime) -> int | None:
        """Compare-and-set: the new version when this process won the right to refresh, else None."""
        async with self._sessions.begin() as session:
            won: int | None = await session.scalar(
                update(TraktConnection)
                .where(
                    TraktConnection.user_id == user_id,
                    TraktConnection.version == version,
                    or_(TraktConnection.lease_until.is_(None), TraktConnection.lease_until < now),
                )
                .values(lease_until=now + self._lease, version=TraktConnection.version + 1)
                .returning(TraktConnection.version)
            )
        return won

    async def _load(self, user_id: int) -> _Row:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(
                        TraktConnection.access_token,
                        TraktConnection.refresh_token,
                        TraktConnection.expires_at,
                        TraktConnection.status,
                        TraktConnection.version,
                        TraktConnection.lease_until,
                    ).where(TraktConnection.user_id == user_id)
                )
            ).one_or_none()
        return _Row() if found is None else _Row(*found)

    @staticmethod
    async def _update(session: AsyncSession, user_id: int, values: Mapping[str, Any]) -> None:
        """Every write moves `version`, which is what waiting refreshers in other processes watch."""
        await session.execute(
            update(TraktConnection)
            .where(TraktConnection.user_id == user_id)
            .values(**values, version=TraktConnection.version + 1)
        )
