"""Faults suite, outage part: Trakt down for six simulated hours, then back with changed data; TMDB
down and slow.

The real app over HTTP, talking to the sandbox's Trakt through a `Gate` (so Trakt can refuse
connections as a host that is down does) and to its TMDB directly. The clock is the sandbox's fake
clock: six hours pass in a few seconds. Promise under test: every poll answers 200 with the last
good calendar within a bounded time, and the changed data appears once Trakt is back.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from app.sandbox.gate import Gate
from app.web.app import create_app
from tests.fixtures.app import RunningApp, free_port
from tests.fixtures.sandbox import RunningSandbox
from tests.support.figures import Figures
from tests.support.polling import SUITE, Poller, summaries_of
from tests.support.server import serve
from tests.support.settings import sandbox_settings
from tests.support.waiting import eventually_blocking

OUTAGE = timedelta(hours=6)
STEP = timedelta(minutes=30)
MODES = ("503", "refused", "hang")  # the outage ends in a hang, which the app must give up on
CLIENT_TIMEOUT = 10.0  # seconds: the app's HTTP client (app.services.container)
POLL_BOUND = 3.0  # seconds: a poll answered from the cache must never wait for Trakt
POSTER_BUDGET = 2.0  # PosterService's timeout
CHANGED = "Back With Changed Data"


@pytest.fixture
def gate(sandbox: RunningSandbox) -> Iterator[Gate]:
    host, port = sandbox.url.removeprefix("http://").split(":")
    with Gate(host, int(port)).running() as running:
        yield running


@pytest.fixture
def gated_app(database_url: str, sandbox: RunningSandbox, gate: Gate) -> Iterator[RunningApp]:
    """The app with Trakt's API behind the gate; sign-in and TMDB go to the sandbox directly."""
    port = free_port()
    settings = sandbox_settings(database_url, sandbox.url, f"http://127.0.0.1:{port}", trakt_api_url=gate.url)
    sandbox.state.config.device_interval = 0
    with serve(create_app(settings, clock=sandbox.clock, background=False), port=port) as url:
        yield RunningApp(url=url, settings=settings, clock=sandbox.clock)


def fault(sandbox: RunningSandbox, **spec: object) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", content=json.dumps(spec))
    assert response.status_code == 200, response.text


def clear_faults(sandbox: RunningSandbox) -> None:
    assert httpx.delete(f"{sandbox.url}/_sandbox/faults").status_code == 200


def break_trakt(mode: str, sandbox: RunningSandbox, gate: Gate) -> None:
    clear_faults(sandbox)  # releases requests still hanging from the previous mode
    gate.admit()
    if mode == "503":
        fault(sandbox, prefix="/calendars/", status=503, seconds=int(STEP.total_seconds()))
    elif mode == "refused":
        gate.refuse()
    else:
        fault(sandbox, prefix="/calendars/", hang=True)


def change_an_episode_title(sandbox: RunningSandbox) -> None:
    now = sandbox.clock()
    data = sandbox.state.dataset()
    soon = (e for e in data.episodes if now + timedelta(days=2) < e.first_aired < now + timedelta(days=20))
    episode = next(soon)
    sandbox.state.override("episode", episode.ids.trakt, {"title": CHANGED})


def wait_for_the_app_to_give_up_on_a_hang(
    sandbox: RunningSandbox, poller: Poller, good: Counter[str]
) -> None:
    """Real seconds pass until the app's client times out on a hanging Trakt call (the sandbox then
    records the call as answered 503); the feed keeps answering meanwhile."""
    assert sandbox.state.faults and sandbox.state.faults[0].hang
    began = time.monotonic()

    def gave_up() -> bool:
        assert poller.summaries() == good
        time.sleep(0.5)
        return any(call.status == 503 and call.at >= began_at for call in sandbox.state.calls)

    began_at = sandbox.clock()
    sandbox.clock.advance(minutes=61)  # past any backoff: the next poll's refresh meets the hang
    eventually_blocking(gave_up, "the app to time out on a hanging Trakt", within=CLIENT_TIMEOUT + 10)
    assert time.monotonic() - began >= CLIENT_TIMEOUT - 1


def test_trakt_down_six_hours_then_back_with_changed_data(
    gated_app: RunningApp, sandbox: RunningSandbox, gate: Gate, figures: Figures
) -> None:
    poller = Poller(f"{gated_app.url}/feeds/{gated_app.connect().token}.ics", figures)
    good = poller.summaries()
    started, polls, worst = sandbox.clock(), 0, 0.0
    step = 0
    while sandbox.clock() - started < OUTAGE:
        break_trakt(MODES[step % len(MODES)], sandbox, gate)
        for _ in range(2):  # one poll meets the stale chunk and starts a refresh; the next meets it failing
            sandbox.clock.advance(seconds=STEP.total_seconds() / 2)
            began = time.monotonic()
            response = poller.poll()
            worst = max(worst, time.monotonic() - began)
            assert response.status_code == 200, response.text
            assert summaries_of(response.content) == good
            polls += 1
        step += 1
    wait_for_the_app_to_give_up_on_a_hang(sandbox, poller, good)
    assert worst < POLL_BOUND
    clear_faults(sandbox)
    gate.admit()
    change_an_episode_title(sandbox)
    sandbox.clock.advance(hours=1, minutes=1)  # past the longest backoff an outage earns
    back = sandbox.clock()

    def changed_is_served() -> bool:
        summaries = poller.summaries()
        sandbox.clock.advance(minutes=1)
        return any(CHANGED in summary for summary in summaries)

    eventually_blocking(changed_is_served, "the changed data after the outage", within=20)
    hours = OUTAGE.total_seconds() / 3600
    figures.add(SUITE, "simulated outage hours (503, refused, hang past the timeout)", hours)
    figures.add(SUITE, "polls during the outage, all 200 with the last good calendar", polls)
    figures.highest(SUITE, "max poll latency during the outage", worst, " s")
    minutes = (sandbox.clock() - back).total_seconds() / 60
    figures.highest(SUITE, "simulated minutes from Trakt back to changed data served", minutes)


@pytest.mark.parametrize("mode", ["down (503)", "slow (past its timeout)"])
def test_tmdb_down_or_slow_serves_the_feed_without_posters_in_bounded_time(
    mode: str, running_app: RunningApp, sandbox: RunningSandbox, figures: Figures
) -> None:
    if mode.startswith("down"):
        fault(sandbox, prefix="/3/", status=503)
    else:
        fault(sandbox, prefix="/3/", delay_ms=int(POSTER_BUDGET * 1000) + 3000)
    poller = Poller(f"{running_app.url}/feeds/{running_app.connect().token}.ics", figures)
    began = time.monotonic()
    response = poller.poll()
    elapsed = time.monotonic() - began
    assert response.status_code == 200
    assert summaries_of(response.content)
    assert b"IMAGE;" not in response.content
    assert elapsed < POSTER_BUDGET + POLL_BOUND
    figures.highest(SUITE, f"cold feed latency with TMDB {mode}", elapsed, " s")
    clear_faults(sandbox)
