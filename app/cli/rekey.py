"""`airdate rekey`: re-encrypt every stored secret with the first key in AIRDATE_SECRET_KEYS.

Why one transaction: a rekey that stopped half way would leave some secrets under a key the operator
is about to delete. All or nothing means "it printed a count" is the signal that old keys can go.
"""

from __future__ import annotations

from sqlalchemy import select

from app.services.container import Services
from app.store.tables import Feed, TraktConnection


async def rekey(services: Services) -> int:
    """Rotate every Trakt token pair and every feed token copy; return how many values were rewritten."""
    vault = services.vault
    rewritten = 0
    async with services.sessions.begin() as session:
        for connection in await session.scalars(select(TraktConnection).with_for_update()):
            connection.access_token = vault.rotate(connection.access_token)
            connection.refresh_token = vault.rotate(connection.refresh_token)
            rewritten += 2
        for feed in await session.scalars(select(Feed).with_for_update()):
            feed.token_encrypted = vault.rotate(feed.token_encrypted)
            rewritten += 1
    return rewritten
