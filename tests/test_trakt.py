"""The Trakt client against the running sandbox over real HTTP on loopback.

The client shares the sandbox's movable clock and gets a recording `sleep` that advances that clock,
so device-flow expiry, backoff and the per-user GET budget are exercised without waiting.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app import __version__
from app.core.config import Settings
from app.core.errors import (
    AppCredentialsRejected,
    AuthRevoked,
    BadResponse,
    DeviceFlowError,
    RateLimited,
    TokenRejected,
    Unavailable,
    UpstreamError,
)
from app.domain.sources import SOURCES
from app.store.ratelimits import UNIDENTIFIED
from app.upstream.trakt import TraktClient, create_trakt
from app.upstream.trakt_auth import pkce_pair
from tests.fixtures.sandbox import FakeClock, RunningSandbox
from tests.support.rig import sign_in
from tests.support.settings import sandbox_settings

CLIENT_TIMEOUT = 1.0  # seconds; the shared client's timeout, kept short so the timeout test is quick
SHOWS = SOURCES["shows"]


@dataclass
class Recorder:
    """Sleeps that advance the sandbox clock instead of waiting, and the requests the client sent."""

    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    async def record(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


@pytest.fixture
def recorder(sandbox: RunningSandbox) -> Recorder:
    return Recorder(sandbox.clock)


@pytest.fixture
async def http(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    """The one shared client, as the app's lifespan would create it."""
    async with httpx.AsyncClient(
        timeout=CLIENT_TIMEOUT, event_hooks={"request": [recorder.record]}
    ) as client:
        yield client


def trakt_settings(sandbox: RunningSandbox, **changes: object) -> Settings:
    """The Trakt client reads neither the database nor the public URL, so placeholders stand in."""
    return sandbox_settings("sqlite+aiosqlite://", sandbox.url, "http://127.0.0.1:8000", **changes)


@pytest.fixture
def trakt(sandbox: RunningSandbox, http: httpx.AsyncClient, recorder: Recorder) -> TraktClient:
    return create_trakt(
        trakt_settings(sandbox), http, clock=sandbox.clock, sleep=recorder.sleep, rng=lambda: 0.5
    )


async def control(http: httpx.AsyncClient, sandbox: RunningSandbox, switch: str, body: Any) -> None:
    response = await http.post(f"{sandbox.url}/_sandbox/{switch}", json=body)
    assert response.status_code == 200, response.text


async def settle(sandbox: RunningSandbox, prefix: str, expected: int) -> None:
    """Wait (briefly, for real) until delayed responses are logged, so none leak into the next test."""
    for _ in range(500):
        if sandbox.state.count(prefix) >= expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"sandbox logged {sandbox.state.count(prefix)} calls to {prefix}, wanted {expected}")


# -- headers ----------------------------------------------------------------------------------


async def test_every_call_sends_the_required_headers(
    trakt: TraktClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    tokens = await sign_in(trakt)
    await trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)

    assert {call.user_agent for call in sandbox.state.calls} == {f"airdate/{__version__}"}
    for request in recorder.requests:
        assert request.headers["trakt-api-key"] == "sandbox-client-id"
        assert request.headers["trakt-api-version"] == "2"
        assert request.headers["content-type"] == "application/json"
    api_call = next(r for r in recorder.requests if r.url.path == "/users/settings")
    assert api_call.headers["authorization"] == f"Bearer {tokens.access_token}"
    assert all("authorization" not in r.headers for r in recorder.requests if r.url.path.startswith("/oauth"))


# -- device code flow -------------------------------------------------------------------------


async def test_device_flow_is_approved_on_the_second_poll(
    trakt: TraktClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    code = await trakt.device_code()
    waits: list[None] = []
    tokens = await trakt.wait_for_device_token(code, on_wait=lambda: waits.append(None))

    assert recorder.sleeps == [code.interval, code.interval]
    assert len(waits) == 1
    assert sandbox.state.count("/oauth/device/token") == 2
    polls = recorder.bodies("/oauth/device/token")
    assert all(body["client_secret"] == "sandbox-client-secret" for body in polls)
    assert recorder.bodies("/oauth/device/code") == [{"client_id": "sandbox-client-id"}]
    assert tokens.expires_at == sandbox.clock.now.replace(microsecond=0) + timedelta(seconds=604800)
    assert (await trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)).slug == "demo"


@pytest.mark.parametrize(("outcome", "reason"), [("deny", "denied"), ("expire", "expired")])
async def test_device_flow_ends_when_the_user_denies_or_the_code_expires(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, outcome: str, reason: str
) -> None:
    await control(http, sandbox, "config", {"device_outcome": outcome})
    code = await trakt.device_code()

    with pytest.raises(DeviceFlowError) as caught:
        await trakt.wait_for_device_token(code)
    assert caught.value.reason == reason


async def test_unknown_device_code_is_invalid(trakt: TraktClient) -> None:
    code = await trakt.device_code()
    with pytest.raises(DeviceFlowError) as caught:
        await trakt.wait_for_device_token(replace(code, device_code="no-such-code"))
    assert caught.value.reason == "invalid_code"


async def test_device_code_used_twice_is_already_used(trakt: TraktClient) -> None:
    code = await trakt.device_code()
    await trakt.wait_for_device_token(code)

    with pytest.raises(DeviceFlowError) as caught:
        await trakt.wait_for_device_token(code)
    assert caught.value.reason == "already_used"


async def test_slow_down_lengthens_the_poll_interval(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    await control(http, sandbox, "faults", {"prefix": "/oauth/device/token", "status": 429, "times": 1})
    code = await trakt.device_code()

    await trakt.wait_for_device_token(code)
    assert recorder.sleeps == [code.interval, code.interval + 5, code.interval + 5]


async def test_device_flow_stops_at_expires_in_by_the_clock(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    await control(http, sandbox, "config", {"device_interval": 400})
    code = await trakt.device_code()
    assert code.expires_in == 600

    with pytest.raises(DeviceFlowError) as caught:
        await trakt.wait_for_device_token(code)
    assert caught.value.reason == "expired"
    assert recorder.sleeps == [400, 400]
    assert sandbox.state.count("/oauth/device/token") == 1  # the second wait ran out before polling


# -- authorization code + PKCE, refresh, revoke -------------------------------------------------


def test_pkce_pair_has_the_rfc_7636_shape() -> None:
    verifier, challenge = pkce_pair()

    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert "=" not in challenge
    assert pkce_pair()[0] != verifier


async def authorize(trakt: TraktClient, http: httpx.AsyncClient, challenge: str, redirect: str) -> str:
    """Follow the authorize URL as a browser would; the sandbox approves and redirects with a code."""
    url = trakt.authorize_url(state="s-123", code_challenge=challenge, redirect_uri=redirect)
    response = await http.get(url)
    assert response.status_code == 302
    query = httpx.URL(response.headers["location"]).params
    assert query["state"] == "s-123"
    return query["code"]


async def test_authorization_code_with_pkce(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    verifier, challenge = pkce_pair()
    redirect = "https://airdate.example/auth/callback"
    url = httpx.URL(trakt.authorize_url(state="s-123", code_challenge=challenge, redirect_uri=redirect))
    assert str(url).startswith(f"{sandbox.url}/oauth/authorize?")
    assert url.params["code_challenge_method"] == "S256"

    code = await authorize(trakt, http, challenge, redirect)
    tokens = await trakt.exchange_code(code=code, code_verifier=verifier, redirect_uri=redirect)
    assert (await trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)).timezone == "America/New_York"


async def test_exchange_with_the_wrong_verifier_is_refused(
    trakt: TraktClient, http: httpx.AsyncClient
) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    redirect = "https://airdate.example/auth/callback"
    code = await authorize(trakt, http, challenge, redirect)

    with pytest.raises(AuthRevoked):
        await trakt.exchange_code(code=code, code_verifier=other_verifier, redirect_uri=redirect)


async def test_refresh_tokens_are_single_use(trakt: TraktClient) -> None:
    tokens = await sign_in(trakt)

    rotated = await trakt.refresh(tokens.refresh_token)
    assert rotated.refresh_token != tokens.refresh_token
    assert (await trakt.user_settings(rotated.access_token, gate=UNIDENTIFIED)).username == "Demo"
    with pytest.raises(AuthRevoked):
        await trakt.refresh(tokens.refresh_token)


async def test_a_rejected_access_token_is_token_rejected_not_a_revoked_grant(trakt: TraktClient) -> None:
    """A 401 on an API call says nothing about the refresh token: the caller refreshes, not reconnects."""
    tokens = await sign_in(trakt)

    await trakt.revoke(tokens.access_token)
    with pytest.raises(TokenRejected) as caught:
        await trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)
    assert not isinstance(caught.value, AuthRevoked)
    assert caught.value.status == 401


async def test_wrong_client_secret_is_not_blamed_on_the_user(
    sandbox: RunningSandbox, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    settings = trakt_settings(sandbox, trakt_client_secret="wrong")
    misconfigured = create_trakt(settings, http, clock=sandbox.clock, sleep=recorder.sleep)
    code = await misconfigured.device_code()

    with pytest.raises(AppCredentialsRejected) as caught:
        await misconfigured.wait_for_device_token(code)
    assert not isinstance(caught.value, AuthRevoked)
    assert caught.value.status == 401


async def test_a_refresh_with_a_wrong_client_secret_is_the_operators_problem_not_a_revoked_grant(
    trakt: TraktClient, sandbox: RunningSandbox, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    """`invalid_client` on the token endpoint must not read as `invalid_grant`: nobody should be told
    to sign in again for the operator's typo, and the refresh token is not spent."""
    tokens = await sign_in(trakt)
    settings = trakt_settings(sandbox, trakt_client_secret="wrong")
    misconfigured = create_trakt(settings, http, clock=sandbox.clock, sleep=recorder.sleep)

    with pytest.raises(AppCredentialsRejected, match="client id or secret"):
        await misconfigured.refresh(tokens.refresh_token)
    assert (await trakt.refresh(tokens.refresh_token)).access_token != tokens.access_token


async def test_a_401_on_the_device_code_endpoint_is_the_operators_problem(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await control(http, sandbox, "faults", {"prefix": "/oauth/device/code", "status": 401})

    with pytest.raises(
        AppCredentialsRejected, match=r"POST /oauth/device/code: .*client id or secret \(401\)"
    ):
        await trakt.device_code()


# -- calendars ----------------------------------------------------------------------------------


async def test_calendar_requests_one_chunk_with_full_details(
    trakt: TraktClient, sandbox: RunningSandbox
) -> None:
    tokens = await sign_in(trakt)
    start = sandbox.clock.now.date() - timedelta(days=10)

    items = await trakt.calendar(tokens.access_token, SHOWS, start, 33, gate=UNIDENTIFIED)
    call = sandbox.state.calls[-1]
    assert call.path == f"/calendars/my/shows/{start:%Y-%m-%d}/33"
    assert call.query == "extended=full"
    assert items and all({"first_aired", "episode", "show"} <= item.keys() for item in items)
    assert all("overview" in item["show"] for item in items)  # only present with extended=full


async def test_calendar_can_leave_out_watched_items(trakt: TraktClient, sandbox: RunningSandbox) -> None:
    tokens = await sign_in(trakt)
    start = sandbox.clock.now.date() - timedelta(days=30)
    watched = sandbox.state.dataset().watched_episodes

    everything = await trakt.calendar(tokens.access_token, SHOWS, start, 33, gate=UNIDENTIFIED)
    unwatched = await trakt.calendar(
        tokens.access_token, SHOWS, start, 33, gate=UNIDENTIFIED, ignore_watched=True
    )
    assert sandbox.state.calls[-1].query == "extended=full&ignore_watched=true"
    assert any(item["episode"]["ids"]["trakt"] in watched for item in everything)
    assert unwatched == [item for item in everything if item["episode"]["ids"]["trakt"] not in watched]


async def test_movie_calendar_reads_its_own_path(trakt: TraktClient, sandbox: RunningSandbox) -> None:
    tokens = await sign_in(trakt)
    start = sandbox.clock.now.date() - timedelta(days=20)

    items = await trakt.calendar(tokens.access_token, SOURCES["streaming"], start, 30, gate=UNIDENTIFIED)
    assert sandbox.state.calls[-1].path == f"/calendars/my/streaming/{start:%Y-%m-%d}/30"
    assert items and all({"released", "movie"} <= item.keys() for item in items)


@pytest.mark.parametrize("days", [0, 34, 100])
async def test_calendar_refuses_chunks_trakt_would_truncate(
    trakt: TraktClient, sandbox: RunningSandbox, days: int
) -> None:
    with pytest.raises(ValueError, match=r"1\.\.33"):
        await trakt.calendar("any-token", SHOWS, sandbox.clock.now.date(), days, gate=UNIDENTIFIED)
    assert sandbox.state.count("/calendars") == 0


async def test_revoked_user_gets_token_rejected_then_a_refused_refresh(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    tokens = await sign_in(trakt)
    await control(http, sandbox, "revoke_user", {"slug": "demo"})

    with pytest.raises(TokenRejected):
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    with pytest.raises(AuthRevoked):  # only the refresh tells a revoked grant from a stale token
        await trakt.refresh(tokens.refresh_token)


async def test_expired_access_token_gets_token_rejected(trakt: TraktClient, sandbox: RunningSandbox) -> None:
    tokens = await sign_in(trakt)
    sandbox.clock.set(tokens.expires_at)

    with pytest.raises(TokenRejected):
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)


# -- failure handling ----------------------------------------------------------------------------


async def test_transient_503_is_retried_with_backoff(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    tokens = await sign_in(trakt)
    recorder.sleeps.clear()
    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": 503, "times": 2})

    items = await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert isinstance(items, list)
    assert [call.status for call in sandbox.state.calls if call.path.startswith("/calendars/")] == [
        503,
        503,
        200,
    ]
    assert recorder.sleeps == [0.25 * 1.5, 0.5 * 1.5]  # exponential, jittered by rng() = 0.5


@pytest.mark.parametrize("status", [503, 520])
async def test_persistent_outage_is_unavailable_after_bounded_attempts(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, recorder: Recorder, status: int
) -> None:
    tokens = await sign_in(trakt)
    recorder.sleeps.clear()
    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": status})

    with pytest.raises(Unavailable) as caught:
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert caught.value.status == status
    assert sandbox.state.count("/calendars/") == 3
    assert sum(recorder.sleeps) < 2


@pytest.mark.parametrize(("body", "status"), [("malformed", 200), ("html", 200), ("html", 403)])
async def test_garbage_bodies_are_bad_responses(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, body: str, status: int
) -> None:
    tokens = await sign_in(trakt)
    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": status, "body": body})

    with pytest.raises(BadResponse):
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert sandbox.state.count("/calendars/") == 1


async def test_a_json_object_is_not_a_calendar(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    tokens = await sign_in(trakt)
    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": 200})

    with pytest.raises(BadResponse, match="JSON list"):
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)


async def test_long_retry_after_is_rate_limited_for_that_long(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    tokens = await sign_in(trakt)
    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": 429, "retry_after": 60})

    with pytest.raises(RateLimited) as caught:
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert caught.value.retry_after == 60
    assert sandbox.state.count("/calendars/") == 1


async def test_short_retry_after_is_waited_out_once(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    tokens = await sign_in(trakt)
    recorder.sleeps.clear()
    fault = {"prefix": "/calendars/", "status": 429, "retry_after": 1, "times": 1}
    await control(http, sandbox, "faults", fault)

    today = sandbox.clock.now.date()
    assert isinstance(await trakt.calendar(tokens.access_token, SHOWS, today, 7, gate=UNIDENTIFIED), list)
    assert recorder.sleeps == [1.0]

    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": 429, "retry_after": 1})
    with pytest.raises(RateLimited) as caught:
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert caught.value.retry_after == 1
    assert recorder.sleeps == [1.0, 1.0]


async def test_429_without_retry_after_backs_off_with_jitter(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    tokens = await sign_in(trakt)
    await control(http, sandbox, "faults", {"prefix": "/calendars/", "status": 429, "body": "html"})

    with pytest.raises(RateLimited) as caught:
        await trakt.calendar(tokens.access_token, SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert caught.value.retry_after == 30 * 1.5  # first backoff step, jittered by rng() = 0.5
    assert sandbox.state.count("/calendars/") == 1


async def test_a_hanging_upstream_is_unavailable(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    tokens = await sign_in(trakt)
    delay_ms = int(CLIENT_TIMEOUT * 1000) + 300
    await control(http, sandbox, "faults", {"prefix": "/users/settings", "delay_ms": delay_ms})

    with pytest.raises(Unavailable, match="ReadTimeout after 3 attempts"):
        await trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)
    await settle(sandbox, "/users/settings", 3)


async def test_connection_errors_never_escape_as_httpx_errors(
    http: httpx.AsyncClient, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    trakt = create_trakt(
        trakt_settings(sandbox, trakt_api_url=closed, trakt_auth_url=closed), http, sleep=recorder.sleep
    )

    with pytest.raises(Unavailable, match="ConnectError after 3 attempts"):
        await trakt.device_code()
    with pytest.raises(Unavailable):
        await trakt.calendar("token", SHOWS, sandbox.clock.now.date(), 7, gate=UNIDENTIFIED)
    assert len(recorder.sleeps) == 4


# -- secrets stay secret -------------------------------------------------------------------------


async def test_tokens_never_reach_logs_reprs_or_errors(
    trakt: TraktClient, http: httpx.AsyncClient, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await trakt.device_code()
    tokens = await trakt.wait_for_device_token(code)
    await control(http, sandbox, "faults", {"prefix": "/", "status": 503, "times": 2})
    rotated = await trakt.refresh(tokens.refresh_token)
    errors: list[Exception] = []
    for attempt in (
        lambda: trakt.refresh(tokens.refresh_token),
        lambda: trakt.user_settings(tokens.access_token + "x", gate=UNIDENTIFIED),
        lambda: trakt.wait_for_device_token(code),
    ):
        errors.append(await raised(attempt))

    secrets = [code.device_code, tokens.access_token, tokens.refresh_token, rotated.access_token]
    shown = [caplog.text, repr(tokens), str(tokens), repr(code), repr(rotated)]
    shown += [f"{error!s} {error!r}" for error in errors]
    assert "503" in caplog.text  # the retries were logged ...
    for secret in secrets:
        assert all(secret not in text for text in shown)  # ... without a single secret


async def raised(attempt: Callable[[], Any]) -> Exception:
    try:
        await attempt()
    except UpstreamError as error:
        return error
    raise AssertionError("expected an UpstreamError")
