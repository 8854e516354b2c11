"""Background: the work a request leaves running is neither lost, nor silent when it fails."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import pytest

from app.core.tasks import Background


async def test_a_task_nobody_holds_is_kept_until_it_ends() -> None:
    """The event loop keeps only weak references to tasks: one waiting on a future that only it
    refers to would be collected midway (Python's docs for `create_task` warn of this)."""
    background = Background("lookup")

    async def work() -> None:
        await asyncio.get_running_loop().create_future()  # nothing else refers to this future

    task = weakref.ref(background.start(work()))  # the request walks away from it
    await asyncio.sleep(0)  # the task starts, and waits on its future
    gc.collect()
    running = task()
    assert running is not None and not running.done()
    running.cancel()
    await background.drain()


async def test_the_caller_may_await_what_it_started() -> None:
    async def answer() -> int:
        return 42

    assert await Background("lookup").start(answer()) == 42


async def test_drain_waits_for_the_tasks_started_meanwhile_too() -> None:
    background = Background("refresh")
    done: list[str] = []

    async def later() -> None:
        await asyncio.sleep(0.01)
        done.append("later")

    async def first() -> None:
        await asyncio.sleep(0.01)
        background.start(later())  # a refresh that starts another, as a stale chunk's might
        done.append("first")

    background.start(first())
    await asyncio.wait_for(background.drain(), timeout=5)
    assert done == ["first", "later"]


async def test_a_failure_is_logged_with_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("the database went away")

    background = Background("poster lookup")
    with caplog.at_level(logging.ERROR, logger="app.core.tasks"):
        background.start(broken())
        await background.drain()

    [record] = caplog.records
    assert record.getMessage() == "poster lookup failed"
    assert record.exc_info is not None and "the database went away" in str(record.exc_info[1])


async def test_a_cancelled_task_is_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    background = Background("refresh")
    task = background.start(asyncio.sleep(60))
    task.cancel()
    with caplog.at_level(logging.ERROR, logger="app.core.tasks"):
        await asyncio.wait_for(background.drain(), timeout=5)
    assert caplog.records == []
