"""When Airdate may next call Trakt for a user: a 429's "not before" and the GET budget, in one row.

Why in the database: Trakt limits each user (500 GETs per 5 minutes) and, with a 429, names a time
before which it wants no call for that user at all. Several instances, or `airdate serve --workers`,
serve one person; a limit kept in one process's memory is spent once per process and a Retry-After
heard by one process is unknown to the others. So both live in `trakt_limits`, one row per user.

Why one row for both: every GET needs both answers at once ("has the time Trakt named passed, and is
budget left?"), and one conditional `UPDATE ... RETURNING` gives both and spends one GET atomically,
on SQLite and PostgreSQL alike. A Trakt call costs one short write at most: the calendar spends for
a round of chunk refreshes inside the transaction that leases them, so there it costs none. The row
appears on a user's first call.

The budget counts in windows of `window` (5 minutes), each starting at the first call after the
previous one ended, and admits a call only while this window's and the previous window's calls stay
under the limit together. Any 5-minute span overlaps at most two such windows, so the limit holds in
every 5-minute span however Trakt aligns its own; the price is that a user who spent the whole budget
waits up to two windows, which a calendar (a few calls an hour per user) never comes near.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.errors import RateLimited
from app.store.engine import upsert
from app.store.tables import TraktLimit

GET_BUDGET = 450  # Trakt allows 500 GETs per 5 minutes per user; keep headroom for its own counting
GET_WINDOW = timedelta(minutes=5)
# Seconds a spend stands for "no 429 holds this user": a cold feed's calls go out within milliseconds
# of their lease, a call that waits on a token refresh does not.
PREPAID_FRESH = 0.5


@dataclass(frozen=True, slots=True)
class _Row:
    not_before: datetime | None
    window_start: datetime
    window_calls: int
    previous_calls: int


class TraktLimits:
    """The per-user limits of every process on this database; one per process, safe to share."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        limit: int = GET_BUDGET,
        window: timedelta = GET_WINDOW,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._limit = limit
        self._window = window

    def gate(self, user_id: int, *, prepaid: int = 0) -> UserGate:
        """What the Trakt client consults before each attempt of a GET made for `user_id`.

        `prepaid` attempts were already spent by the caller (`spend` inside its own transaction).
        """
        return UserGate(self, user_id, prepaid)

    async def admit(self, user_id: int) -> None:
        """Spend one GET of the user's budget, or raise RateLimited (spending nothing) saying how long."""
        async with self._sessions.begin() as session:
            if await self.spend(session, user_id, 1):
                return
            row = await self._load(session, user_id)
        now = self._clock()
        wait = (self._next_call(row, now) - now).total_seconds() if row is not None else 0.0
        raise _refused(user_id, wait)

    async def spend(self, session: AsyncSession, user_id: int, calls: int) -> bool:
        """Spend `calls` GETs (all or none) in the caller's transaction; False when not allowed now.

        Why in the caller's transaction: the calendar spends for a whole round of chunk refreshes in
        the transaction that leases them, so on SQLite (one writer at a time) the budget adds no
        write of its own. Usually one statement; on a user's first call the row is created (two
        processes creating it at once settle on one row) and the spend tried once more.
        """
        now = self._clock()
        if await session.scalar(self._spend(user_id, now, calls)) is not None:
            return True
        await upsert(session, TraktLimit, self._fresh(user_id, now), ["user_id"])
        return await session.scalar(self._spend(user_id, now, calls)) is not None

    async def hold(self, user_id: int, retry_after: float) -> None:
        """Trakt said 429: no call for this user, from any process, for `retry_after` seconds.

        A later "not before" never moves earlier, so two 429s heard at once keep the longer wait.
        """
        now = self._clock()
        until = now + timedelta(seconds=max(retry_after, 0.0))
        async with self._sessions.begin() as session:
            await upsert(session, TraktLimit, self._fresh(user_id, now), ["user_id"])
            await session.execute(
                update(TraktLimit)
                .where(
                    TraktLimit.user_id == user_id,
                    or_(TraktLimit.not_before.is_(None), TraktLimit.not_before < until),
                )
                .values(not_before=until)
            )

    async def check_hold(self, user_id: int) -> None:
        """Raise RateLimited while a 429 holds the user: for a call already paid for, before it goes
        out (its budget was spent, so only the hold is asked about)."""
        now = self._clock()
        async with self._sessions() as session:
            row = await self._load(session, user_id)
        if row is not None and row.not_before is not None and row.not_before > now:
            raise _refused(user_id, (row.not_before - now).total_seconds())

    async def held(self, user_id: int) -> bool:
        """Whether a call for this user would be refused now: one read, so callers can skip the work."""
        now = self._clock()
        async with self._sessions() as session:
            row = await self._load(session, user_id)
        return row is not None and self._next_call(row, now) > now

    def _spend(self, user_id: int, now: datetime, calls: int) -> Any:
        """`calls` GETs, if the time named by a 429 has come and the two windows keep within the limit.

        Both backends evaluate every SET expression against the row as it was, and PostgreSQL
        re-checks the WHERE after waiting for a concurrent writer's lock, so the spend is atomic.
        """
        column = TraktLimit.window_start
        current = column > now - self._window  # the window is still running
        previous = column > now - 2 * self._window  # it ended, but calls in it are under 5 min old
        return (
            update(TraktLimit)
            .where(
                TraktLimit.user_id == user_id,
                or_(TraktLimit.not_before.is_(None), TraktLimit.not_before <= now),
                case(
                    (current, TraktLimit.previous_calls + TraktLimit.window_calls),
                    (previous, TraktLimit.window_calls),
                    else_=0,
                )
                + calls
                <= self._limit,
            )
            .values(
                previous_calls=case(
                    (current, TraktLimit.previous_calls), (previous, TraktLimit.window_calls), else_=0
                ),
                window_calls=case((current, TraktLimit.window_calls + calls), else_=calls),
                window_start=case((current, column), else_=literal(now, column.type)),
            )
            .returning(TraktLimit.window_calls)
        )

    def _next_call(self, row: _Row, now: datetime) -> datetime:
        """The earliest moment a spend can succeed: after the 429's time and once the budget allows."""
        moments = [now] if row.not_before is None else [now, row.not_before]
        end = row.window_start + self._window
        if end > now and row.previous_calls + row.window_calls >= self._limit:
            # At `end` this window's calls become the previous window's: enough room, or wait one more.
            moments.append(end if row.window_calls < self._limit else end + self._window)
        elif end <= now < end + self._window and row.window_calls >= self._limit:
            moments.append(end + self._window)
        return max(moments)

    @staticmethod
    def _fresh(user_id: int, now: datetime) -> dict[str, Any]:
        """A user's row before their first call: nothing spent, nothing held."""
        return {
            "user_id": user_id,
            "not_before": None,
            "window_start": now,
            "window_calls": 0,
            "previous_calls": 0,
        }

    @staticmethod
    async def _load(session: AsyncSession, user_id: int) -> _Row | None:
        found = (
            await session.execute(
                select(
                    TraktLimit.not_before,
                    TraktLimit.window_start,
                    TraktLimit.window_calls,
                    TraktLimit.previous_calls,
                ).where(TraktLimit.user_id == user_id)
            )
        ).one_or_none()
        return None if found is None else _Row(*found)


def _refused(user_id: int, wait: float) -> RateLimited:
    """What a call refused by the user's limits raises: how long until one may go out."""
    return RateLimited(
        f"user {user_id}: no Trakt call for another {wait:.0f} s", retry_after=wait, status=None
    )


class UserGate:
    """One user's limits, as the Trakt client sees them (`app.upstream.http.Gate`), for one request.

    A prepaid attempt goes out without a read while its spend is recent: the spend itself found no
    429 holding the user. One that waited longer (a token refresh before it, say) asks about the hold
    first, since another process may have heard a 429 in the meantime.
    """

    def __init__(self, limits: TraktLimits, user_id: int, prepaid: int) -> None:
        self.limits = limits
        self.user_id = user_id
        self._prepaid = prepaid
        self._paid_at = time.monotonic()  # real time: what matters is how long the call really waited

    async def admit(self) -> None:
        if self._prepaid > 0:
            self._prepaid -= 1
            if time.monotonic() - self._paid_at > PREPAID_FRESH:
                await self.limits.check_hold(self.user_id)
            return
        await self.limits.admit(self.user_id)

    async def hold(self, retry_after: float) -> None:
        await self.limits.hold(self.user_id, retry_after)


class _Unidentified:
    """The gate of a call made before anyone knows whose token it is: a sign-in's "who is this?".

    No user's row can apply to it; it is one GET per sign-in, and a 429 on it fails that sign-in
    with the wait Trakt named.
    """

    async def admit(self) -> None:
        return None

    async def hold(self, retry_after: float) -> None:
        return None


UNIDENTIFIED = _Unidentified()
