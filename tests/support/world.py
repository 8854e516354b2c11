"""A connected user with a calendar service over the rig: the starting point of the cache tests.

Shared by the calendar cache and refresher tests; the `world` fixture lives in `tests.fixtures.rig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.sources import SOURCES, Source
from app.feeds.calendar import CalendarResult, CalendarService, Window
from app.store.ratelimits import TraktLimits
from app.store.secrets import hash_feed_token, new_feed_token
from app.store.tables import CalendarChunk, Feed
from app.upstream.connections import ConnectionService
from tests.support.rig import POLL, Rig

TTL = timedelta(hours=1)
NEW_YORK = ZoneInfo("America/New_York")
SHOWS = SOURCES["shows"]
CALENDARS = "/calendars/"


def calendar_service(
    rig: Rig,
    connections: ConnectionService,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    **options: Any,
) -> CalendarService:
    sessions = sessions or rig.sessions
    limits = TraktLimits(sessions, rig.clock)
    return CalendarService(
        sessions, rig.trakt(), connections, limits, rig.clock, ttl=TTL, poll_interval=POLL, **options
    )


@dataclass
class World:
    rig: Rig
    connections: ConnectionService
    calendar: CalendarService
    user_id: int

    @property
    def today(self) -> date:
        return self.rig.clock().date()

    def window(self, before: int = 7, after: int = 30, tz: ZoneInfo = NEW_YORK) -> Window:
        return Window(self.today - timedelta(days=before), self.today + timedelta(days=after), tz)

    async def entries(
        self, window: Window, sources: Sequence[Source] = (SHOWS,), **kw: Any
    ) -> CalendarResult:
        return await self.calendar.entries(self.user_id, sources, window, **kw)

    def calls(self) -> int:
        return self.rig.sandbox.state.count(CALENDARS)

    async def fault(self, **spec: Any) -> None:
        await self.rig.control("faults", {"prefix": CALENDARS, **spec})

    async def rows(self) -> list[CalendarChunk]:
        async with self.rig.sessions() as session:
            return list(
                await session.scalars(select(CalendarChunk).where(CalendarChunk.payload.is_not(None)))
            )


async def add_feed(rig: Rig, user_id: int, last_polled_at: datetime | None) -> None:
    """A feed of `user_id` last polled then: the background refresher only serves polled feeds."""
    token = new_feed_token()
    async with rig.sessions.begin() as session:
        session.add(
            Feed(
                user_id=user_id,
                token_hash=hash_feed_token(token),
                token_encrypted=rig.vault.encrypt(token),
                name="Shows",
                options={},
                created_at=rig.clock(),
                last_polled_at=last_polled_at,
                poll_count=1,
            )
        )
