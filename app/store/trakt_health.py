"""What the dashboard's Trakt health note asks the database: may this process check the grant now,
and since when have feeds been serving calendar data that Trakt failed to renew.

Why the check is claimed in SQL: the dashboard asks Trakt at most once per interval per user across
all instances, and one conditional UPDATE of `trakt_connections.checked_at` lets exactly one process
win each interval (`app.web.trakt_health` explains why it asks at all).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.tables import CalendarChunk, ConnectionStatus, TraktConnection


async def claim_grant_check(
    sessions: async_sessionmaker[AsyncSession], user_id: int, now: datetime, every: timedelta
) -> bool:
    """True when this caller may check the user's grant: it is ok and nobody checked within `every`."""
    async with sessions.begin() as session:
        claimed = await session.scalar(
            update(TraktConnection)
            .where(
                TraktConnection.user_id == user_id,
                TraktConnection.status == ConnectionStatus.OK,
                or_(TraktConnection.checked_at.is_(None), TraktConnection.checked_at <= now - every),
            )
            .values(checked_at=now)
            .returning(TraktConnection.id)
        )
    return claimed is not None


async def served_since(sessions: async_sessionmaker[AsyncSession], user_id: int) -> datetime | None:
    """When the oldest calendar data still served was fetched, among chunks whose renewal failed."""
    async with sessions() as session:
        oldest: datetime | None = await session.scalar(
            select(func.min(CalendarChunk.fetched_at)).where(
                CalendarChunk.user_id == user_id,
                CalendarChunk.failed_at.is_not(None),
                CalendarChunk.payload.is_not(None),
            )
        )
    return oldest
