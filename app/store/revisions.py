"""What a feed last published for each event (`feed_events`): the rows SEQUENCE bookkeeping reads and writes.

Why a table: clients (Google above all) ignore a changed event unless its SEQUENCE rises and its
LAST-MODIFIED moves, so each feed must remember, per event, the fingerprint it last served and the
revision it served it at. The decision of what changed is `app.feeds.revisions`; this is its SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.engine import upsert
from app.store.tables import FeedEvent


@dataclass(frozen=True, slots=True)
class Published:
    """One event as a feed variant last published it."""

    uid: str
    fingerprint: str
    sequence: int
    modified_at: datetime


async def published(session: AsyncSession, feed_id: int, variant: str) -> dict[str, Published]:
    """Every event the feed variant has published, by UID."""
    query = select(FeedEvent).where(FeedEvent.feed_id == feed_id, FeedEvent.variant == variant)
    return {
        row.uid: Published(row.uid, row.fingerprint, row.sequence, row.modified_at)
        for row in await session.scalars(query)
    }


async def publish(session: AsyncSession, feed_id: int, variant: str, events: Sequence[Published]) -> None:
    """Record new or changed events (one statement for all), replacing what they replace."""
    if not events:
        return
    await upsert(
        session,
        FeedEvent,
        [{"feed_id": feed_id, "variant": variant, **asdict(event)} for event in events],
        key=("feed_id", "variant", "uid"),
        update=("fingerprint", "sequence", "modified_at"),
    )
