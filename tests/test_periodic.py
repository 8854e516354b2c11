"""`run_every`, the one background loop: a round at once, then one after each sleep, failures survived."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.core.periodic import run_every

log = logging.getLogger("tests.periodic")


class Stop(BaseException):
    """Ends the loop from inside `sleep`, as a cancellation would, without a real clock."""


async def test_a_round_runs_at_once_then_after_every_sleep() -> None:
    events: list[str] = []

    async def work() -> None:
        events.append("work")

    async def sleep(seconds: float) -> None:
        events.append(f"sleep {seconds}")
        if events.count("work") == 3:
            raise Stop

    with pytest.raises(Stop):
        await run_every(30.0, work, log=log, what="flush", sleep=sleep)
    assert events == ["work", "sleep 30.0", "work", "sleep 30.0", "work", "sleep 30.0"]


async def test_a_failed_round_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the database went away")

    async def sleep(seconds: float) -> None:
        if len(rounds) == 2:
            raise Stop

    with caplog.at_level(logging.ERROR, logger=log.name), pytest.raises(Stop):
        await run_every(1.0, work, log=log, what="refresher round", sleep=sleep)
    assert rounds == [0, 1]
    [record] = caplog.records
    assert record.name == log.name
    assert record.getMessage() == "refresher round failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_cancelling_the_task_ends_the_loop() -> None:
    started = asyncio.Event()

    async def work() -> None:
        started.set()

    task = asyncio.create_task(run_every(3600.0, work, log=log, what="flush"))
    await asyncio.wait_for(started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancellation_inside_a_round_is_not_logged_as_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inside = asyncio.Event()

    async def work() -> None:
        inside.set()
        await asyncio.Event().wait()  # a round still running when the server shuts down

    task = asyncio.create_task(run_every(1.0, work, log=log, what="flush"))
    await asyncio.wait_for(inside.wait(), timeout=5)
    task.cancel()
    with caplog.at_level(logging.ERROR, logger=log.name), pytest.raises(asyncio.CancelledError):
        await task
    assert caplog.records == []
