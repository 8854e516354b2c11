"""The operator verbs' queries (app.store.maintenance), on SQLite and PostgreSQL, without the CLI.

Why here as well as through `airdate`: the CLI tests check what the verbs print on one database; these
pin the SQL itself on both, including that rekey leaves every secret readable under the new key only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.accounts import Accounts, Identity
from app.store.maintenance import rekey, token_expiry, user_slugs
from app.store.secrets import Vault, generate_key
from app.store.tables import Feed, TraktConnection

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def test_slugs_oldest_user_first_and_token_expiry(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    accounts = Accounts(session_factory, Vault((generate_key(),)), lambda: NOW, "http://airdate.test")
    assert await user_slugs(session_factory) == {}
    first = await accounts.upsert_user(Identity("zed", "Zed", None, "UTC"))
    second = await accounts.upsert_user(Identity("amy", "Amy", None, "UTC"))
    assert list((await user_slugs(session_factory)).items()) == [(first, "zed"), (second, "amy")]
    assert await token_expiry(session_factory, first) is None  # no connection stored
    async with session_factory.begin() as session:
        session.add(
            TraktConnection(
                user_id=first, access_token="a", refresh_token="r", expires_at=NOW, updated_at=NOW
            )
        )
    expires = await token_expiry(session_factory, first)
    assert expires is not None and expires.replace(tzinfo=UTC) == NOW


async def test_rekey_moves_every_secret_under_the_first_key(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    old_key = generate_key()
    old = Vault((old_key,))
    accounts = Accounts(session_factory, old, lambda: NOW, "http://airdate.test")
    user = await accounts.upsert_user(Identity("demo", "Demo", None, "UTC"))
    feed = await accounts.create_feed(user)
    async with session_factory.begin() as session:
        session.add(
            TraktConnection(
                user_id=user,
                access_token=old.encrypt("access"),
                refresh_token=old.encrypt("refresh"),
                expires_at=NOW,
                updated_at=NOW,
            )
        )
    new_key = generate_key()
    assert await rekey(session_factory, Vault((new_key, old_key))) == 3
    new_only = Vault((new_key,))
    async with session_factory() as session:
        connection = await session.scalar(select(TraktConnection))
        stored = await session.scalar(select(Feed.token_encrypted))
    assert connection is not None and stored is not None
    assert [new_only.decrypt(connection.access_token), new_only.decrypt(connection.refresh_token)] == [
        "access",
        "refresh",
    ]
    assert new_only.decrypt(stored) == feed.token
