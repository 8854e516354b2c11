"""Is Trakt still working for this person? What the dashboard says about it, found out cheaply.

Why the dashboard asks on its own: every feed may be served from fresh cache for an hour, so no feed
request touches Trakt and a revoked grant would stay unnoticed until the next refresh. Opening the
dashboard therefore checks the grant with one `/users/settings` call (inside the per-user GET budget),
at most once per `CHECK_EVERY` per user across all instances: the check is claimed by moving
`trakt_connections.checked_at` in one conditional UPDATE, and only the process that moved it calls.

And why a separate note for outages: when Trakt fails, feeds keep serving the last good calendar
(see calendar.py), which is right for calendar apps but leaves the person wondering why nothing new
appears; the cache rows know since when the data is old.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, or_, select, update

from app.core.errors import NeedsReconnect, UpstreamError
from app.services.container import Services
from app.store.tables import CalendarChunk, ConnectionStatus, TraktConnection

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=5)


async def check_grant(services: Services, user_id: int, *, every: timedelta = CHECK_EVERY) -> None:
    """Ask Trakt whether the user's grant still works, unless someone asked within `every`.

    A refused grant marks the connection for reconnect (the dashboard then shows its banner); any
    other failure is left to the outage note, since it says nothing about the grant.
    """
    now = services.clock()
    async with services.sessions.begin() as session:
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
    if claimed is None:
        return
    # Through `call`: a 401 costs one refresh, and only a refused refresh (recorded by the
    # connection service itself) turns into the reconnect banner.
    check = partial(services.trakt.user_settings, gate=services.limits.gate(user_id))
    try:
        await services.connections.call(user_id, check)
    except NeedsReconnect:
        return
    except UpstreamError as exc:
        log.info("user %s: grant check inconclusive (%s)", user_id, exc)


async def served_since(services: Services, user_id: int) -> datetime | None:
    """When the calendar data feeds are serving was last fetched, if Trakt is failing to renew it."""
    async with services.sessions() as session:
        oldest: datetime | None = await session.scalar(
            select(func.min(CalendarChunk.fetched_at)).where(
                CalendarChunk.user_id == user_id,
                CalendarChunk.failed_at.is_not(None),
                CalendarChunk.payload.is_not(None),
            )
        )
    return oldest
