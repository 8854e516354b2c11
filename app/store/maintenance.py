"""The queries only the operator's verbs run: who the users are, when a grant expires, and rekeying.

Why apart from `accounts`: these serve `airdate feeds`, `doctor` and `rekey` alone, read across every
user, and one of them rewrites every stored secret; the service paths never need them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.engine import begin_writing
from app.store.secrets import Vault
from app.store.tables import Feed, TraktConnection, User


async def user_slugs(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    """User id -> Trakt slug, oldest user first, for naming owners in listings."""
    async with sessions() as session:
        rows = await session.execute(select(User.id, User.trakt_slug).order_by(User.id))
    return {user_id: slug for user_id, slug in rows}


async def token_expiry(sessions: async_sessionmaker[AsyncSession], user_id: int) -> datetime | None:
    """When the user's stored Trakt access token expires (None: no connection stored)."""
    async with sessions() as session:
        expires: datetime | None = await session.scalar(
            select(TraktConnection.expires_at).where(TraktConnection.user_id == user_id)
        )
    return expires


async def rekey(sessions: async_sessionmaker[AsyncSession], vault: Vault) -> int:
    """Re-encrypt every Trakt token pair and feed token copy with the vault's first key; how many.

    Why one transaction with the rows locked: a rekey that stopped half way would leave some secrets
    under a key the operator is about to delete, so a printed count must mean all of them moved. And
    the lock is held from the first read (`begin_writing`): serving processes keep refreshing tokens
    and rotating feed URLs meanwhile, and writing back a row another process changed after we read it
    would restore a refresh token Trakt has already spent (the grant lost) or the copy of a feed URL
    that was rotated away.
    """
    rewritten = 0
    async with sessions.begin() as session:
        await begin_writing(session)
        for connection in await session.scalars(select(TraktConnection).with_for_update()):
            connection.access_token = vault.rotate(connection.access_token)
            connection.refresh_token = vault.rotate(connection.refresh_token)
            rewritten += 2
        for feed in await session.scalars(select(Feed).with_for_update()):
            feed.token_encrypted = vault.rotate(feed.token_encrypted)
            rewritten += 1
    return rewritten
