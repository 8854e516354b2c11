"""SingleFlight, the in-process half of "refresh exactly once": concurrent callers share one call."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from app.core.errors import Unavailable
from app.core.singleflight import SingleFlight


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
