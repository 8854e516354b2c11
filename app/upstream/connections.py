"""Trakt tokens per user: stored encrypted, refreshed before they expire or when Trakt rejects them,
and refreshed exactly once.

Why the ceremony around refresh: Trakt refresh tokens are single-use. If two requests (or two
instances on one PostgreSQL) both spent the same refresh token, the loser would get `invalid_grant`
and the user would be told to sign in again for nothing. So one process per user wins a lease on the
connection row (a compare-and-set on `version`), spends the token, commits the new pair before anyone
uses it, and releases the lease; everyone else keeps using the current access token while it works,
or polls the row (for at most `wait`) until it moves. Inside a process a
`SingleFlight` keeps concurrent callers from even racing for the lease. A 401 on an access token the
row still calls valid (Trakt shortened lifetimes, or invalidated tokens) goes through the same lease:
the first caller holding the rejected token refreshes, later ones find the row already moved on.

Why the new pair is written on a lock taken *before* the spend: between Trakt spending the old
refresh token and our commit of the new pair, a crash loses the grant (the person must sign in again).
Writing after the answer on a fresh transaction puts that window behind whatever holds the database
at that moment: a pool checkout, and on SQLite the one write lock, which the calendar's group writer
and every other writer take in turn (plus the busy handler's sleeps of up to 100 ms between looks);
kills landing in that window lost grants (figures: docs/performance.md). Taking the lock first (SQLite `BEGIN
IMMEDIATE`; PostgreSQL `SELECT ... FOR UPDATE` of the one row) on a connection we hold across the
call leaves only "parse the answer, one UPDATE, COMMIT" in the window, and the commit is the first
thing done with the answer. It is safe because the wait it imposes is bounded and small: on
PostgreSQL only writers of this user's connection row wait; on SQLite every writer waits, so the
refresh call gets one attempt bounded by `REFRESH_TIMEOUT` as a whole (a deadline: httpx's timeouts
bound each read alone, and a host trickling its answer would hold the lock far longer), well inside
SQLite's 5 s busy timeout, so a waiting writer is delayed, never failed (SQLite's driver opens its
transactions at the first write, so no reader is refused either). A retry would not help anyway: a
refresh whose answer was lost has spent the token. The version is re-checked under the lock, so even a
lease that lapsed meanwhile cannot lead two processes to spend one token. The server runs this on a
`TokenLane` (its own thread and loop), so a busy event loop cannot stretch the window either.

A lease left behind by a crashed process lapses after `lease`; until then no caller waits more than
`wait` for it: it uses the access token it has if that is still valid, and otherwise fails like an
outage would (the calendar then answers from its cache).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock, Sleep
from app.core.errors import AuthRevoked, NeedsReconnect, RefreshBusy, TokenRejected, UpstreamError
from app.core.singleflight import SingleFlight
from app.store.connections import ConnectionRow, ConnectionStore, SealedPair
from app.store.leases import Patience
from app.store.secrets import Vault
from app.store.tables import ConnectionStatus
from app.upstream.tokenlane import LaneParts, TokenLane
from app.upstream.trakt import TraktClient
from app.upstream.trakt_auth import TokenSet

log = logging.getLogger(__name__)

T = TypeVar("T")


REFRESH_TIMEOUT = 3.0  # seconds: one refresh attempt while holding the write lock (SQLite waits 5 s)


class ConnectionService:
    """A usable Trakt access token per user, each refresh token spent once; the rows are the store's
    (`app.store.connections`), the decisions of when to refresh and whom to wait for are made here."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        vault: Vault,
        trakt: TraktClient,
        clock: Clock,
        *,
        refresh_margin: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(seconds=15),
        wait: timedelta = timedelta(seconds=3),
        poll_interval: float = 0.05,
        sleep: Sleep = asyncio.sleep,
        lane: TokenLane | None = None,
    ) -> None:
        self._sessions = session_factory
        self._rows = ConnectionStore(session_factory)
        self._lane = lane  # None: refresh on the caller's loop with the shared session factory and client
        self._vault = vault
        self._trakt = trakt
        self._clock = clock
        self._margin = refresh_margin
        # Longer than a refresh can hold it (the lock wait plus REFRESH_TIMEOUT), so a live holder
        # never loses it; short, since a crashed holder's lease blocks refreshes until it lapses.
        self._lease = lease
        self._poll_interval = poll_interval
        # A waiter gives up after `wait` of real time (like the calendar's wait budget): a live winner
        # has usually finished by then, and a crashed one's lease must not hold a feed request for long.
        self._wait = wait.total_seconds()
        self._sleep = sleep
        self._flight: SingleFlight[tuple[int, str], str] = SingleFlight()

    async def save(self, user_id: int, tokens: TokenSet) -> None:
        """Store a new grant (sign-in or reconnect): status back to ok, lease cleared, version moved."""
        await self._rows.save(user_id, self._sealed(tokens), self._clock())

    def _sealed(self, tokens: TokenSet) -> SealedPair:
        return SealedPair(
            self._vault.encrypt(tokens.access_token),
            self._vault.encrypt(tokens.refresh_token),
            tokens.expires_at,
        )

    async def access_token(self, user_id: int) -> str:
        """A usable access token, refreshed first when it expires within the refresh margin.

        Raises NeedsReconnect when the grant is gone; an UpstreamError only when Trakt cannot refresh
        and the stored token has already expired.
        """
        return await self._flight.run((user_id, ""), lambda: self._resolve(user_id, None))

    async def call(self, user_id: int, request: Callable[[str], Awaitable[T]]) -> T:
        """Run `request` with the user's access token; on a 401 refresh once and retry once.

        Trakt can stop accepting an access token before the expiry it announced. The refresh goes
        through the same lease and single flight as one driven by expiry, and concurrent callers that
        saw the same token rejected share it. A second 401 right after a successful refresh is raised
        as it is (an outage, not a reason to reconnect); NeedsReconnect only when Trakt refuses the
        refresh itself.
        """
        token = await self.access_token(user_id)
        try:
            return await request(token)
        except TokenRejected:
            log.info("user %s: Trakt rejected an access token it had not expired; refreshing", user_id)
        key = (user_id, hashlib.sha256(token.encode()).hexdigest())
        return await request(await self._flight.run(key, lambda: self._resolve(user_id, token)))

    async def mark_needs_reconnect(self, user_id: int, reason: str) -> None:
        """Record that Trakt refused the grant, so no one spends upstream calls on it until sign-in."""
        await self._rows.mark_needs_reconnect(user_id, reason, self._clock())

    async def status(self, user_id: int) -> ConnectionStatus:
        """OK, NEEDS_RECONNECT, or MISSING when the user never connected."""
        return ConnectionStatus((await self._load(user_id)).status)

    def _usable(self, row: ConnectionRow, now: datetime, rejected: str | None) -> bool:
        """The stored access token has not expired and is not the one Trakt just rejected."""
        if row.expires_at is None or row.expires_at <= now:
            return False
        return rejected is None or not hmac.compare_digest(self._vault.decrypt(row.access_token), rejected)

    async def _resolve(self, user_id: int, rejected: str | None) -> str:
        """The stored token when it will do, else a refresh by whoever wins the lease (maybe us).

        While another process holds the lease, a token that still works is used at once: waiting
        for the holder gains nothing, and the holder may be a crashed process whose lease lapses
        only later. Only a caller without a usable token waits, and for at most `wait`.
        """
        patience = Patience(self._wait, self._poll_interval, self._sleep)
        token = await patience.until(partial(self._token_or_lease, user_id, rejected))
        if token is None:
            raise RefreshBusy(f"user {user_id}: token refresh still in progress elsewhere")
        return token

    async def _token_or_lease(self, user_id: int, rejected: str | None) -> str | None:
        """One look at the row: a token, or None while another process holds the refresh lease."""
        while True:
            row = await self._load(user_id)
            now = self._clock()
            if row.status != ConnectionStatus.OK or row.expires_at is None:
                raise NeedsReconnect(user_id)
            usable = self._usable(row, now, rejected)
            if usable and (row.expires_at - self._margin > now or row.leased(now)):
                return self._vault.decrypt(row.access_token)
            if row.leased(now):
                return None
            won = await self._take_lease(user_id, row.version, now)
            if won is not None:
                refreshed = await self._refresh(user_id, won, rejected)
                if refreshed is not None:
                    return refreshed
            # someone moved the row first: look at what they left

    async def _refresh(self, user_id: int, version: int, rejected: str | None) -> str | None:
        """Spend the refresh token (we hold the lease), on the token lane when there is one."""
        if self._lane is None:
            return await self._spend(LaneParts(self._sessions, self._trakt), user_id, version, rejected)
        return await self._lane.run(lambda parts: self._spend(parts, user_id, version, rejected))

    async def _spend(self, parts: LaneParts, user_id: int, version: int, rejected: str | None) -> str | None:
        """On a write lock taken first, spend the refresh token and commit the new pair as the first
        thing done with Trakt's answer. None when the row is no longer at our lease.

        A refresh that outlives `REFRESH_TIMEOUT` fails like Trakt being down: lease released, the
        stored token used while it is valid. The deadline ends with the answer read in full, so it
        never interrupts the commit; but when it passes after Trakt spent the token and before the
        answer arrived, that answer is lost and the grant with it (the next refresh is refused), as
        with any timeout: the price of never holding the lock longer.
        """
        async with ConnectionStore(parts.sessions).locked(user_id) as held:
            row = held.row
            if row is None or row.version != version:
                return None
            try:
                tokens = await parts.trakt.refresh(
                    self._vault.decrypt(row.refresh_token), single_attempt=REFRESH_TIMEOUT
                )
            except AuthRevoked as exc:
                await held.needs_reconnect(str(exc), self._clock())
                log.warning("user %s: Trakt refused the refresh token (%s); needs reconnect", user_id, exc)
                raise NeedsReconnect(user_id) from None
            except UpstreamError as exc:
                await held.release(str(exc))
                log.warning("user %s: token refresh failed (%s)", user_id, exc)
                if self._usable(row, self._clock(), rejected):
                    return self._vault.decrypt(row.access_token)
                raise
            await held.store_pair(self._sealed(tokens), self._clock())
        log.info("user %s: Trakt token refreshed", user_id)
        return tokens.access_token

    # The lease-and-wait loop (`_resolve`) reads and leases the row through these two.

    async def _take_lease(self, user_id: int, version: int, now: datetime) -> int | None:
        """The new version when this process won the right to refresh, else None."""
        return await self._rows.take_lease(user_id, version, now, now + self._lease)

    async def _load(self, user_id: int) -> ConnectionRow:
        return await self._rows.load(user_id)
