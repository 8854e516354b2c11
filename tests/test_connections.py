"""Trakt tokens per user against the real sandbox (device sign-in, single-use refresh) on both databases."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.errors import AppCredentialsRejected, NeedsReconnect, RefreshBusy, TokenRejected, Unavailable
from app.domain.sources import SOURCES
from app.store.connections import MAX_ERROR_LENGTH, ConnectionRow, ConnectionStore, SealedPair
from app.store.engine import create_engine, create_session_factory
from app.store.ratelimits import UNIDENTIFIED
from app.store.tables import ConnectionStatus, TraktConnection, User
from app.upstream.connections import REFRESH_TIMEOUT, ConnectionService
from app.upstream.tokenlane import TokenLane
from app.upstream.trakt import create_trakt
from tests.support.rig import Rig, add_user, sign_in

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
    calendar = await rig.trakt().calendar(fresh, SOURCES["shows"], rig.clock().date(), 7, gate=UNIDENTIFIED)
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

        # A caller that finds the other instance refreshing keeps using the still-valid old token.
        assert set(results) - {tokens.access_token}
        assert len(set(results)) <= 2
        assert rig.sandbox.state.count("/oauth/token") == 1
        assert rig.sandbox.state.auth.refreshes["demo"] == 1
        async with rig.sessions() as session:
            row = await session.scalar(select(TraktConnection).where(TraktConnection.user_id == user_id))
        assert row is not None and row.lease_until is None and row.status == "ok"
        assert rig.vault.decrypt(row.access_token) in set(results) - {tokens.access_token}
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


async def test_a_refresh_answer_that_trickles_in_is_cut_off_at_the_deadline(rig: Rig) -> None:
    """Each piece of the answer comes well within a read timeout, so only a deadline on the attempt as
    a whole ends it: at REFRESH_TIMEOUT, handled as Trakt being down (lease released, the still-valid
    token used). On SQLite the attempt holds the write lock, and a writer in another process waits
    5 s for it: that writer must go through, not fail with "database is locked"."""
    connections = rig.connections()
    user_id, tokens = await rig.connected_user(connections)
    rig.clock.set(tokens.expires_at - timedelta(minutes=20))
    await rig.control("faults", {"prefix": "/oauth/token", "trickle_ms": 500, "times": 1})
    elsewhere = create_engine(rig.database_url)

    async def write_elsewhere() -> None:
        await asyncio.sleep(0.5)  # the refresh holds the lock by now
        async with create_session_factory(elsewhere).begin() as session:
            bump = User.data_version + 1
            await session.execute(update(User).where(User.id == user_id).values(data_version=bump))

    started = time.monotonic()
    try:
        token, _ = await asyncio.gather(connections.access_token(user_id), write_elsewhere())
    finally:
        await elsewhere.dispose()

    assert token == tokens.access_token
    assert time.monotonic() - started < REFRESH_TIMEOUT + 1
    row = await ConnectionStore(rig.sessions).load(user_id)
    assert (row.status, row.lease_until) == (ConnectionStatus.OK, None)


async def test_a_refresh_refused_for_the_apps_credentials_asks_nobody_to_reconnect(rig: Rig) -> None:
    """The operator's wrong client secret is not the person's revoked grant: the row stays ok."""
    user_id, tokens = await rig.connected_user(rig.connections())
    misconfigured = create_trakt(
        replace(rig.settings(), trakt_client_secret="wrong"),
        rig.http,
        clock=rig.clock,
        sleep=rig.advance_sleep,
    )
    connections = ConnectionService(rig.sessions, rig.vault, misconfigured, rig.clock)
    rig.clock.set(tokens.expires_at + timedelta(minutes=1))

    with pytest.raises(AppCredentialsRejected):
        await connections.access_token(user_id)
    assert await connections.status(user_id) == "ok"
    assert rig.sandbox.state.auth.refreshes.get("demo", 0) == 0  # the refresh token was not spent
    assert await rig.connections().access_token(user_id) != tokens.access_token  # it still works


async def test_mark_needs_reconnect_keeps_the_reason(rig: Rig) -> None:
    connections = rig.connections()
    user_id, _ = await rig.connected_user(connections)

    await connections.mark_needs_reconnect(user_id, "Trakt rejected the access token (401)")

    assert await connections.status(user_id) == "needs_reconnect"
    with pytest.raises(NeedsReconnect):
        await connections.access_token(user_id)


# -- a 401 on a token believed valid ------------------------------------------------------------


async def test_concurrent_401s_on_two_instances_spend_the_refresh_token_once(
    rig: Rig, database_url: str
) -> None:
    """Three callers per instance, all holding the token Trakt just stopped accepting."""
    user_id, tokens = await rig.connected_user(rig.connections())
    await rig.control("invalidate_access", {"slug": "demo"})
    trakt = rig.trakt()
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        services = [rig.connections(create_session_factory(engine)) for engine in engines]

        def fetch(token: str) -> Awaitable[list[dict[str, Any]]]:
            return trakt.calendar(token, SOURCES["shows"], rig.clock().date(), 7, gate=UNIDENTIFIED)

        results = await asyncio.gather(*(s.call(user_id, fetch) for s in services for _ in range(3)))

        assert all(isinstance(result, list) for result in results)
        assert rig.sandbox.state.auth.refreshes == {"demo": 1}
        assert rig.sandbox.state.count("/oauth/token") == 1
        stored = await services[0].access_token(user_id)
        assert stored != tokens.access_token
        assert await services[0].status(user_id) == "ok"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_401_whose_refresh_is_refused_needs_reconnect(rig: Rig) -> None:
    connections = rig.connections()
    user_id, _ = await rig.connected_user(connections)
    await rig.control("revoke_user", {"slug": "demo"})
    trakt = rig.trakt()

    with pytest.raises(NeedsReconnect):
        await connections.call(user_id, partial(trakt.user_settings, gate=UNIDENTIFIED))

    assert await connections.status(user_id) == "needs_reconnect"
    assert rig.sandbox.state.count("/oauth/token") == 1


async def test_a_second_401_after_a_good_refresh_is_an_error_not_a_reconnect(rig: Rig) -> None:
    connections = rig.connections()
    user_id, _ = await rig.connected_user(connections)
    await rig.control("faults", {"prefix": "/users/settings", "status": 401, "times": 2})

    with pytest.raises(TokenRejected):
        await connections.call(user_id, partial(rig.trakt().user_settings, gate=UNIDENTIFIED))

    assert rig.sandbox.state.auth.refreshes == {"demo": 1}
    assert await connections.status(user_id) == "ok"


# -- the refresh window and leases left by dead processes -----------------------------------------


async def test_the_write_lock_is_held_before_the_refresh_token_is_spent(
    rig: Rig, engine: AsyncEngine
) -> None:
    """Every statement is tagged with how many refresh tokens the sandbox had spent when it ran: the
    lock must come before the spend, and the first thing after it must be the new pair's write."""
    connections = rig.connections()
    user_id, tokens = await rig.connected_user(connections)
    rig.clock.set(tokens.expires_at - timedelta(minutes=5))
    seen: list[tuple[int, str]] = []

    def spent() -> int:
        return rig.sandbox.state.auth.refreshes.get("demo", 0)

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((spent(), " ".join(statement.split()).upper()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    event.listen(engine.sync_engine, "commit", lambda _conn: seen.append((spent(), "COMMIT")))

    await connections.access_token(user_id)

    before = [statement for count, statement in seen if count == 0]
    after = [statement for count, statement in seen if count == 1]
    lock = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else "FOR UPDATE"
    assert any(lock in statement for statement in before[-2:]), before
    assert after[0].startswith("UPDATE TRAKT_CONNECTIONS") and after[1] == "COMMIT", after


async def test_a_lease_left_by_a_dead_process_holds_no_caller_for_long(rig: Rig) -> None:
    """A crashed refresher's lease: callers wait `wait` (3 s), not the lease, then make do."""
    connections = rig.connections(lease=timedelta(seconds=30))
    user_id, tokens = await rig.connected_user(connections)
    rig.clock.set(tokens.expires_at - timedelta(minutes=5))  # due for a refresh, still valid
    async with rig.sessions.begin() as session:
        await session.execute(
            update(TraktConnection)
            .where(TraktConnection.user_id == user_id)
            .values(lease_until=rig.clock() + timedelta(seconds=30), version=TraktConnection.version + 1)
        )

    started = time.monotonic()
    assert await connections.access_token(user_id) == tokens.access_token
    assert time.monotonic() - started < 4.5

    await rig.control("invalidate_access", {"slug": "demo"})
    started = time.monotonic()
    with pytest.raises(RefreshBusy):
        await connections.call(user_id, partial(rig.trakt().user_settings, gate=UNIDENTIFIED))
    assert time.monotonic() - started < 4.5
    assert rig.sandbox.state.count("/oauth/token") == 0  # nobody spends under someone else's lease


async def test_the_token_lane_spends_and_commits_on_its_own_thread(rig: Rig) -> None:
    """The server's refreshes run on a thread of their own, so its busy loop cannot delay the commit."""
    lane = TokenLane(rig.settings(), rig.clock, lambda: httpx.AsyncClient(timeout=10))
    committed_on: list[str] = []

    def record(_conn: Any) -> None:
        committed_on.append(threading.current_thread().name)

    event.listen(Engine, "commit", record)
    try:
        connections = rig.connections(lane=lane)
        user_id, tokens = await rig.connected_user(connections)
        rig.clock.set(tokens.expires_at - timedelta(minutes=5))
        committed_on.clear()

        fresh = await connections.access_token(user_id)

        assert fresh != tokens.access_token
        assert rig.sandbox.state.auth.refreshes == {"demo": 1}
        assert "airdate-token-lane" in committed_on
        assert await rig.connections().access_token(user_id) == fresh  # committed, for everyone
    finally:
        event.remove(Engine, "commit", record)
        await lane.aclose()


# -- the rows themselves (app.store.connections) ---------------------------------------------------


async def test_every_write_moves_the_version_and_a_lease_is_a_compare_and_set(rig: Rig) -> None:
    store = ConnectionStore(rig.sessions)
    user_id = await add_user(rig.sessions, rig.clock)
    now = rig.clock()
    assert await store.load(user_id) == ConnectionRow()  # never connected

    await store.save(user_id, SealedPair("sealed-a", "sealed-r", now + timedelta(days=7)), now)
    saved = await store.load(user_id)
    assert (saved.status, saved.version, saved.lease_until) == (ConnectionStatus.OK, 1, None)
    assert "sealed" not in repr(saved)

    assert await store.take_lease(user_id, saved.version + 1, now, now + timedelta(seconds=15)) is None
    assert await store.take_lease(user_id, saved.version, now, now + timedelta(seconds=15)) == 2
    assert (await store.load(user_id)).leased(now)
    assert await store.take_lease(user_id, 2, now, now + timedelta(seconds=15)) is None  # still leased

    await store.mark_needs_reconnect(user_id, "x" * 600, now)
    marked = await store.load(user_id)
    assert (marked.status, marked.version, marked.lease_until) == (ConnectionStatus.NEEDS_RECONNECT, 3, None)
    async with rig.sessions() as session:
        assert len(await session.scalar(select(TraktConnection.last_error)) or "") == MAX_ERROR_LENGTH


async def test_a_locked_row_left_without_a_write_is_rolled_back_and_unlocked(rig: Rig) -> None:
    store = ConnectionStore(rig.sessions)
    user_id = await add_user(rig.sessions, rig.clock)
    now = rig.clock()
    await store.save(user_id, SealedPair("a", "r", now + timedelta(days=7)), now)

    async with store.locked(user_id) as held:
        assert held.row is not None and held.row.version == 1
    async with store.locked(user_id + 1) as nobody:
        assert nobody.row is None
    # The lock is gone: another writer's compare-and-set goes through at once.
    assert await asyncio.wait_for(store.take_lease(user_id, 1, now, now + timedelta(seconds=15)), 2) == 2

    async with store.locked(user_id) as held:
        await held.release("Trakt was down")
    released = await store.load(user_id)
    assert (released.version, released.lease_until) == (3, None)
