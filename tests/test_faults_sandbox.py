"""Faults suite, the sandbox's switches: each misbehaves exactly as documented, over a real socket."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from app.sandbox.gate import Gate
from tests.fixtures.sandbox import RunningSandbox

CALENDAR = "/calendars/my/shows/2026-11-20/7"


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A client signed in to the sandbox's default user, so calendars answer."""
    state = sandbox.state
    token = state.auth.issue(state.auth.users["demo"], sandbox.clock(), 86400)
    headers = {
        "trakt-api-key": state.client_id,
        "trakt-api-version": "2",
        "Authorization": f"Bearer {token.access_token}",
    }
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


def fault(api: httpx.Client, **spec: object) -> None:
    """Add a fault; sent with ASCII escapes, since injected items may hold lone surrogates."""
    body = json.dumps({"prefix": "/calendars", **spec})
    assert api.post("/_sandbox/faults", content=body).status_code == 200


def test_injected_items_come_before_the_real_ones(api: httpx.Client) -> None:
    real = api.get(CALENDAR).json()
    assert real
    fault(api, inject=[None, 5, "x", {"show": None}, {"title": "bad \ud800"}], times=1)
    response = api.get(CALENDAR)
    assert b"\\ud800" in response.content  # a lone surrogate travels escaped
    assert response.json()[:4] == [None, 5, "x", {"show": None}]
    assert response.json()[5:] == real
    assert api.get(CALENDAR).json() == real  # `times` used up


def test_wrong_top_level_shape_and_huge_bodies(api: httpx.Client) -> None:
    real = api.get(CALENDAR).json()
    fault(api, body="object", times=1)
    assert api.get(CALENDAR).json() == {"items": real}
    fault(api, body="huge", times=1)
    response = api.get(CALENDAR)
    assert len(response.content) > 10_000_000
    assert response.json()[:-1] == real


def test_a_scripted_answer_replaces_the_real_one(api: httpx.Client) -> None:
    fault(api, answer={"poster_path": 5}, times=1)
    response = api.get(CALENDAR)
    assert (response.status_code, response.json()) == (200, {"poster_path": 5})


def test_a_fault_lasts_its_seconds_of_sandbox_time(api: httpx.Client, sandbox: RunningSandbox) -> None:
    fault(api, status=503, seconds=6 * 3600)
    sandbox.clock.advance(hours=5, minutes=59)
    assert api.get(CALENDAR).status_code == 503
    sandbox.clock.advance(minutes=2)
    assert api.get(CALENDAR).status_code == 200


def test_a_hang_outlasts_the_client_or_ends_when_faults_are_cleared(api: httpx.Client) -> None:
    fault(api, hang=True)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        api.get(CALENDAR, timeout=0.3)
    assert time.monotonic() - started < 2
    answers: list[int] = []
    waiter = threading.Thread(target=lambda: answers.append(api.get(CALENDAR, timeout=10).status_code))
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()
    api.delete("/_sandbox/faults")
    waiter.join(timeout=5)
    assert answers == [503]


def test_bad_switches_are_refused(api: httpx.Client) -> None:
    for spec in ({"inject": {"a": 1}}, {"hang": "yes"}, {"seconds": 0}, {"body": "tiny"}):
        response = api.post("/_sandbox/faults", json={"prefix": "/", **spec})
        assert response.status_code == 400, spec
        assert json.loads(response.content)["error"]


def test_the_gate_refuses_connections_then_admits_again(api: httpx.Client, sandbox: RunningSandbox) -> None:
    host, port = sandbox.url.removeprefix("http://").split(":")
    with Gate(host, int(port)).running() as gate, httpx.Client(base_url=gate.url, headers=api.headers) as via:
        assert via.get(CALENDAR).status_code == 200
        gate.refuse()
        with pytest.raises(httpx.ConnectError):
            via.get(CALENDAR)
        gate.admit()
        assert via.get(CALENDAR).status_code == 200
