"""Trakt tokens per user against the real sandbox (device sign-in, single-use refresh) on both databases.

The helpers at the top (`Rig`, `rig`, `add_user`, `sign_in`) are shared with the calendar, poster and
refresher tests, which import them from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections import ConnectionService, NeedsReconnect
from app.crypto import Vault, generate_key
from app.db import create_engine, create_session_factory
from app.models import TraktConnection, User
from app.singleflight import SingleFlight
from app.sources import SOURCES
from app.trakt import TokenSet, TraktClient, create_trakt
from app.upstream import Unavailable
from tests.fixtures.sandbox import FakeClock, RunningSandbox

SECRET_KEYS = (generate_key(),)
POLL = 0.01  # seconds between lease polls: real sleeps, since the winner works in real time


def sandbox_settings(sandbox: RunningSandbox) -> Settings:
    return Settings(
        secret_keys=SECRET_KEYS,
        trakt_client_id=sandbox.state.client_id,
        trakt_client_secret=sandbox.state.client_secret,
        trakt_api_url=sandbox.url,
        trakt_auth_url=sandbox.url,
        tmdb_api_url=sandbox.url,
        tmdb_token=sandbox.state.tmdb_token,
        tmdb_image_url="https://images.example/t/p/",
    )


@dataclass
class Rig:
    """The real parts one process of the app would have, pointed at the sandbox and a test database."""

    sandbox: RunningSandbox
    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault = field(default_factory=lambda: Vault(SECRET_KEYS))

    @property
    def clock(self) -> FakeClock:
        return self.sandbox.clock

    async def advance_sleep(self, seconds: float) -> None:
        """The upstream clients' sleep: retries and device polls move the shared clock, never wait."""
        self.clock.advance(seconds)

    def trakt(self) -> TraktClient:
        return create_trakt(
            sandbox_settings(self.sandbox),
            self.http,
            clock=self.clock,
            sleep=self.advance_sleep,
            rng=lambda: 0.5,
        )

    def connections(
        self, sessions: async_sessionmaker[AsyncSession] | None = None, **options: Any
    ) -> ConnectionService:
        return ConnectionService(
            sessions or self.sessions, self.vault, self.trakt(), self.clock, poll_interval=POLL, **options
        )

    async def control(self, switch: str, body: Any) -> None:
        response = await self.http.post(f"{self.sandbox.url}/_sandbox/{switch}", json=body)
        assert response.status_code == 200, response.text

    async def connected_user(
        self, connections: ConnectionService, slug: str = "demo"
    ) -> tuple[int, TokenSet]:
        """A user row plus a real device-flow grant from the sandbox, saved through `connections`."""
        user_id = await add_user(self.sessions, self.clock, slug)
        if slug != "demo":
            await self.control("config", {"next_user": {"slug": slug}})
        tokens = await sign_in(self.trakt())
        await connections.save(user_id, tokens)
        return user_id, tokens


@pytest.fixture
async def rig(
    sandbox: RunningSandbox, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Rig]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield Rig(sandbox, http, session_factory)


async def add_user(
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    slug: str = "demo",
    timezone: str = "America/New_York",
) -> int:
    async with sessions.begin() as session:
        user = User(
            trakt_slug=slug,
            trakt_username=slug,
            timezone=timezone,
            data_version=0,
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(user)
        await session.flush()
        return user.id


async def sign_in(trakt: TraktClient) -> TokenSet:
    return await trakt.wait_for_device_token(await trakt.device_code())


async def data_version(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessions() as session:
        version = await session.scalar(select(User.data_version).where(User.id == user_id))
    assert version is not None
    return version


# -- storing ------------------------------------------------------------------------------------


async def test_saved_tokens_are_encrypted_and_served_without_a_refresh(rig: Rig) -> None:
    connections = rig.connections()
    user_id, tokens = await rig.connected_user(connections)

    assert await connections.access_token(user_id) == tokens.access_token
    assert await connections.status(user_id) == "ok"
    assert rig.sandbox.state.count("/oauth/token") == 0
    async with rig.sessions() as session:
        row = await session.scalar(select(TraktConnection).where(TraktConnection.user_id == user_id))
    assert row is not None
    assert tokens.access_token not in row.access_token
    assert tokens.refresh_token not in row.refresh_token
    assert rig.vault.decrypt(row.refresh_token) == tokens.refresh_token
    assert row.expires_at == tokens.expires_at


async def test_a_user_who_never_connected_must_connect(rig: Rig) -> None:
    connections = rig.connections()
    user_id = await add_user(rig.sessions, rig.clock)

    assert await connections.status(user_id) == "missing"
    with pytest.raises(NeedsReconnect):
        await connections.access_token(user_id)


# -- refreshing ---------------------------------------------------------------------------------


async def test_refresh_is_scheduled_from_the_stored_expiry_not_a_fixed_lifetime(rig: Rig) -> None:
    await rig.control("config", {"access_token_ttl": 7200})  # 2 h, nothing like the 7-day default
    connections = rig.connections(refresh_margin=timedelta(hours=1))
    user_id, tokens = await rig.connected_user(connections)

    rig.clock.advance(minutes=55)
    assert await connections.access_token(user_id) == tokens.access_token
    assert rig.sandbox.state.count("/oauth/token") == 0

    rig.clock.advance(minutes=10)  # 1 h 05 in: inside the margin
    fresh = await connections.access_token(user_id)

    assert fresh != tokens.access_token
    assert rig.sandbox.state.count("/oauth/token") == 1
    calendar = await rig.trakt().calendar(fresh, SOURCES["shows"], rig.clock().date(), 7)
    assert isinstance(calendar, list)


async def test_two_concurrent_requests_near_expiry_spend_the_refresh_token_once(rig: Rig) -> None:
    connections = rig.connections()
    user_id, tokens = await rig.connected_user(connections)
    rig.clock.set(tokens.expires_at - timedelta(minutes=30))

    first, second = await asyncio.gather(connections.access_token(user_id), connections.access_token(user_id))

    assert first == second != tokens.access_token
    assert rig.sandbox.state.count("/oauth/token") == 1
    assert rig.sandbox.state.auth.refreshes["demo"] == 1
    assert await connections.access_token(user_id) == first  # the new pair was committed


async def test_two_processes_on_one_database_refresh_once(rig: Rig, database_url: str) -> None:
    """Separate engines and clients stand in for two instances sharing one database."""
    user_id, tokens = await rig.connected_user(rig.connections())
    rig.clock.set(tokens.expires_at - timedelta(minutes=10))
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        services = [rig.connections(create_session_factory(engine)) for engine in engines]

        results = await asyncio.gather(
            *(service.access_token(user_id) for service in services for _ in range(3))
        )

        assert len(set(results)) == 1
        assert results[0] != tokens.access_token
        assert rig.sandbox.state.count("/oauth/token") == 1
        assert rig.sandbox.state.auth.refreshes["demo"] == 1
        async with rig.sessions() as session:
            row = await session.scalar(select(TraktConnection).where(TraktConnection.user_id == user_id))
        assert row is not None and row.lease_until is None and row.status == "ok"
        assert rig.vault.decrypt(row.access_token) == results[0]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_revoked_grant_needs_reconnect_and_stops_calling_trakt(rig: Rig) -> None:
    connections = rig.connections()
    user_id, tokens = await rig.connected_user(connections)
    await rig.control("revoke_user", {"slug": "demo"})
    rig.clock.set(tokens.expires_at - timedelta(minutes=5))

    with pytest.raises(NeedsReconnect) as raised:
        await connections.access_token(user_id)

    assert tokens.refresh_token not in str(raised.value)
    assert await connections.status(user_id) == "needs_reconnect"
    async with rig.sessions() as session:
        row = await session.scalar(select(TraktConnection).where(TraktConnection.user_id == user_id))
    assert row is not None and row.last_error and "invalid_grant" in row.last_error
    calls = rig.sandbox.state.count("/oauth/token")
    with pytest.raises(NeedsReconnect):
        await connections.access_token(user_id)
    assert rig.sandbox.state.count("/oauth/token") == calls

    again = await sign_in(rig.trakt())
    await connections.save(user_id, again)
    assert await connections.status(user_id) == "ok"
    assert await connections.access_token(user_id) == again.access_token


async def test_trakt_down_during_refresh_keeps_the_still_valid_token(rig: Rig) -> None:
    connections = rig.connections()
    user_id, tokens = await rig.connected_user(connections)
    await rig.control("faults", {"prefix": "/oauth/token", "status": 503})
    rig.clock.set(tokens.expires_at - timedelta(minutes=20))

    assert await connections.access_token(user_id) == tokens.access_token
    assert rig.sandbox.state.count("/oauth/token") >= 1
    assert await connections.status(user_id) == "ok"

    rig.clock.set(tokens.expires_at + timedelta(minutes=1))
    with pytest.raises(Unavailable):
        await connections.access_token(user_id)

    response = await rig.http.delete(f"{rig.sandbox.url}/_sandbox/faults")
    assert response.status_code == 200
    recovered = await connections.access_token(user_id)
    assert recovered != tokens.access_token
    assert rig.sandbox.state.auth.refreshes["demo"] == 1


async def test_mark_needs_reconnect_keeps_the_reason(rig: Rig) -> None:
    connections = rig.connections()
    user_id, _ = await rig.connected_user(connections)

    await connections.mark_needs_reconnect(user_id, "Trakt rejected the access token (401)")

    assert await connections.status(user_id) == "needs_reconnect"
    with pytest.raises(NeedsReconnect):
        await connections.access_token(user_id)


# -- SingleFlight, the in-process half of "refresh exactly once" ------------------------------------


async def test_single_flight_shares_one_call_and_its_result_per_key() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    started: list[str] = []
    both_started, release = asyncio.Event(), asyncio.Event()

    async def work(key: str) -> int:
        started.append(key)
        number = len(started)
        if number == 2:
            both_started.set()
        await release.wait()
        return number

    waiting = [asyncio.ensure_future(flight.run(key, partial(work, key))) for key in ("a", "a", "a", "b")]
    await asyncio.wait_for(both_started.wait(), timeout=5)
    release.set()

    assert await asyncio.gather(*waiting) == [1, 1, 1, 2]
    assert started == ["a", "b"]
    assert await flight.run("a", partial(work, "a")) == 3  # a finished call is not a cache


async def test_single_flight_shares_the_exception_too() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise Unavailable("down")

    results = await asyncio.gather(*(flight.run("k", failing) for _ in range(5)), return_exceptions=True)

    assert calls == 1
    assert all(isinstance(result, Unavailable) for result in results)


async def test_a_caller_giving_up_does_not_cancel_the_shared_call() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    finished = asyncio.Event()

    async def slow() -> str:
        await asyncio.sleep(0.05)
        finished.set()
        return "done"

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(flight.run("k", slow), timeout=0.01)
    assert await flight.run("k", slow) == "done"  # joined the call still in flight
    assert finished.is_set()
