"""Faults suite, authorisation: what a feed does when Trakt stops accepting a user's tokens.

Trakt can end access tokens before the expiry it announced (it did when it changed token lifetimes):
API calls answer 401 while the refresh token still works. That must cost one refresh and nothing the
person can see. Only Trakt refusing the refresh token itself (`invalid_grant`) means the person has
to sign in again, and even then the feed keeps its last calendar and says so in a notice.

The real app over HTTP, the sandbox's switches (`invalidate_access`, `revoke_user`) and its clock.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest

from app.services.container import open_services
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.support.waiting import eventually_blocking
from tests.test_feed_resilience import HOUR, settle, summaries

RECONNECT = "Airdate: reconnect your Trakt account"
RENAMED = "Renamed after the 401"


@pytest.fixture
def feed(running_app: RunningApp) -> tuple[RunningApp, str, int]:
    info = running_app.connect()
    return running_app, f"{running_app.url}/feeds/{info.token}.ics", info.user_id


def connection_status(app: RunningApp, user_id: int) -> str:
    async def status() -> str:
        async with open_services(app.settings, clock=app.clock) as services:
            return await services.connections.status(user_id)

    return asyncio.run(status())


def rename_an_upcoming_episode(sandbox: RunningSandbox) -> None:
    now = sandbox.clock()
    episode = next(
        e for e in sandbox.state.dataset().episodes if now < e.first_aired < now + timedelta(days=5)
    )
    body = {"kind": "episode", "trakt_id": episode.ids.trakt, "fields": {"title": RENAMED}}
    assert httpx.post(f"{sandbox.url}/_sandbox/overrides", json=body).status_code == 200


def switch(sandbox: RunningSandbox, name: str) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/{name}", json={"slug": "demo"})
    assert response.status_code == 200, response.text


def test_a_401_on_a_token_believed_valid_costs_one_refresh_and_nothing_visible(
    feed: tuple[RunningApp, str, int], sandbox: RunningSandbox
) -> None:
    app, url, user_id = feed
    before = summaries(httpx.get(url))
    calls = sandbox.state.count("/calendars")
    switch(sandbox, "invalidate_access")  # days before the announced expiry
    rename_an_upcoming_episode(sandbox)
    sandbox.clock.advance(seconds=HOUR + 60)

    started = time.monotonic()
    during = summaries(httpx.get(url))
    assert time.monotonic() - started < 5.0
    assert during == before  # stale at once; the refresh runs behind the answer
    eventually_blocking(
        lambda: any(RENAMED in summary for summary in summaries(httpx.get(url))), "the new data", within=20
    )
    settle(sandbox)

    assert sandbox.state.auth.refreshes == {"demo": 1}  # one refresh for every chunk that met the 401
    rejected = [c for c in sandbox.state.calls if c.path.startswith("/calendars") and c.status == 401]
    assert 0 < len(rejected) <= calls  # each chunk was tried once with the old token, then retried
    assert RECONNECT not in summaries(httpx.get(url))
    assert connection_status(app, user_id) == "ok"


def test_invalid_grant_keeps_the_last_calendar_with_a_reconnect_notice(
    feed: tuple[RunningApp, str, int], sandbox: RunningSandbox
) -> None:
    app, url, user_id = feed
    before = summaries(httpx.get(url))
    switch(sandbox, "revoke_user")  # access and refresh tokens both gone: the refresh is refused
    sandbox.clock.advance(seconds=HOUR + 60)

    assert summaries(httpx.get(url)) == before
    eventually_blocking(lambda: RECONNECT in summaries(httpx.get(url)), "the reconnect notice", within=20)
    settle(sandbox)

    after = summaries(httpx.get(url))
    assert sorted(s for s in after if s != RECONNECT) == sorted(before)
    assert connection_status(app, user_id) == "needs_reconnect"
    assert sandbox.state.count("/oauth/token") == 1  # one refresh tried, refused, never retried
    assert sandbox.state.auth.refreshes.get("demo", 0) == 0
