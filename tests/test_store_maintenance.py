"""The operator verbs' queries (app.store.maintenance), on SQLite and PostgreSQL, without the CLI.

Why here as well as through `airdate`: the CLI tests check what the verbs print on one database; these
pin the SQL itself on both, including that rekey leaves every secret readable under the new key only,
and that it cannot undo a token refresh a serving process commits while it runs.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.accounts import Accounts, Identity
from app.store.engine import create_engine, create_session_factory
from app.store.maintenance import rekey, token_expiry, user_slugs
from app.store.secrets import Vault, generate_key
from app.store.tables import Feed, TraktConnection
from app.upstream.connections import ConnectionService
from app.upstream.trakt import create_trakt
from tests.support.rig import SECRET_KEYS, Rig

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


RACE = 2.0  # seconds a refresh racing rekey gets to commit: ample when nothing holds it back


class RefreshWhileRotating(Vault):
    """A vault whose first rotation waits for a serving process to refresh the user's token, as one
    may at any moment during `airdate rekey` (rows read, not yet written back)."""

    def __init__(self, keys: tuple[str, ...], serving: threading.Thread) -> None:
        super().__init__(keys)
        self._serving = serving

    def rotate(self, ciphertext: str) -> str:
        if self._serving.ident is None:  # not started yet: this is the first rotation
            self._serving.start()
            self._serving.join(RACE)  # rekey holding the lock: the refresh waits for its commit instead
        return super().rotate(ciphertext)


async def test_rekey_never_writes_back_a_refresh_token_spent_while_it_ran(rig: Rig) -> None:
    user_id, tokens = await rig.connected_user(rig.connections())
    rig.clock.set(tokens.expires_at - timedelta(minutes=10))  # due: the next poll refreshes it
    keys = (generate_key(), *SECRET_KEYS)  # the operator's rotation: new key first, old kept
    refreshed: list[str] = []

    async def serve_a_poll() -> None:  # another process: its own engine, client and loop
        engine = create_engine(rig.database_url)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                trakt = create_trakt(rig.settings(), http, clock=rig.clock)
                service = ConnectionService(create_session_factory(engine), Vault(keys), trakt, rig.clock)
                refreshed.append(await service.access_token(user_id))
        finally:
            await engine.dispose()

    serving = threading.Thread(target=asyncio.run, args=(serve_a_poll(),))
    assert await rekey(rig.sessions, RefreshWhileRotating(keys, serving)) == 2
    await asyncio.to_thread(serving.join)

    assert refreshed and refreshed[0] != tokens.access_token
    assert rig.sandbox.state.auth.refreshes == {"demo": 1}
    new_only = Vault(keys[:1])
    async with rig.sessions() as session:
        row = await session.scalar(select(TraktConnection).where(TraktConnection.user_id == user_id))
    assert row is not None and new_only.decrypt(row.access_token) == refreshed[0]
    # The grant lives on: the stored refresh token is the one Trakt issued last, not the spent one.
    rig.clock.set(rig.clock() + timedelta(days=7))
    renewed = ConnectionService(rig.sessions, new_only, rig.trakt(), rig.clock)
    assert await renewed.access_token(user_id) not in (tokens.access_token, refreshed[0])
    assert rig.sandbox.state.auth.refreshes == {"demo": 2}
