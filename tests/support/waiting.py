"""Waiting for what real time brings about: the sandbox's scripted delays, the app's background work.

One helper for sync and async tests alike. Async tests await it so their own loop keeps running
the work they wait for; sync tests (which drive the app over HTTP from outside any loop) go through
`eventually_blocking`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

import pytest

INTERVAL = 0.01  # seconds between looks: short, since every look is cheap

Condition = Callable[[], bool | Awaitable[bool]]


async def eventually(condition: Condition, what: str, within: float = 5.0) -> None:
    """Poll `condition` (plain or async) until it holds; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(INTERVAL)


def eventually_blocking(condition: Condition, what: str, within: float = 5.0) -> None:
    """`eventually` for sync tests, on a loop of its own (a sync test has none running)."""
    asyncio.run(eventually(condition, what, within))


def reaches(counter: Callable[[], int], count: int) -> Callable[[], bool]:
    """A condition for `eventually`, e.g. on the sandbox's call count (it logs a call as it answers)."""
    return lambda: counter() == count
