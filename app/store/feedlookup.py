"""Token hash -> the live feed row a poll needs: one indexed read, shaped for the hot path.

Why columns, not ORM objects: this read runs on every poll whose row `app.store.feedrows` does not
remember, through `HotReader`'s prepared plans. The options come as their JSON text, which keys the
feed service's resolved-options memo, so a poll decodes no JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, bindparam, cast, select

from app.store.engine import HotReader
from app.store.tables import ConnectionStatus, Feed, TraktConnection, User


@dataclass(frozen=True, slots=True)
class FeedContext:
    """Everything the hot path learns from its one indexed read."""

    feed_id: int
    user_id: int
    name: str
    stored_options: str  # the feed's options as stored JSON text: decoded once per distinct text
    username: str
    user_tz: str
    data_version: int
    connection_status: ConnectionStatus  # MISSING when the user has no Trakt connection row


LOOKUP = (
    select(
        Feed.id,
        Feed.user_id,
        Feed.name,
        cast(Feed.options, Text).label("options"),
        User.trakt_username,
        User.timezone,
        User.data_version,
        TraktConnection.status,
    )
    .join(User, User.id == Feed.user_id)
    .outerjoin(TraktConnection, TraktConnection.user_id == Feed.user_id)
    .where(Feed.token_hash == bindparam("token_hash"), Feed.revoked_at.is_(None))
)


async def read_feed(reader: HotReader, token_hash: str) -> FeedContext | None:
    """The live (not revoked) feed with this token hash, or None."""
    row = await reader.first(LOOKUP, {"token_hash": token_hash})
    if row is None:
        return None
    return FeedContext(
        feed_id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        stored_options=row["options"],
        username=row["trakt_username"],
        user_tz=row["timezone"],
        data_version=row["data_version"],
        connection_status=ConnectionStatus(row["status"] or ConnectionStatus.MISSING),
    )
