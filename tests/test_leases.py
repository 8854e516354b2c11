"""Patience: a process that lost a lease waits for the winner, but never past its budget."""

from __future__ import annotations

import asyncio

from app.store.leases import Patience


class Looks:
    """A row that the winner releases at its `answer_at`-th look (never, with None)."""

    def __init__(self, answer_at: int | None) -> None:
        self.answer_at = answer_at
        self.count = 0

    async def look(self) -> str | None:
        self.count += 1
        return "token" if self.count == self.answer_at else None

    async def still_leased(self) -> bool:
        return await self.look() is None


async def test_the_first_answer_ends_the_wait() -> None:
    looks = Looks(answer_at=3)
    assert await Patience(budget=5.0, interval=0.001).until(looks.look) == "token"
    assert looks.count == 3


async def test_an_answer_at_once_costs_no_sleep() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    assert await Patience(budget=5.0, interval=0.05, sleep=sleep).until(Looks(answer_at=1).look) == "token"
    assert slept == []


async def test_a_winner_that_never_answers_holds_the_waiter_for_the_budget_only() -> None:
    """Counted in the event loop's time, not in looks: slow looks cannot stretch the wait."""
    looks = Looks(answer_at=None)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await Patience(budget=0.2, interval=0.01).until(looks.look) is None
    waited = loop.time() - began
    assert 0.2 <= waited < 1.0
    assert 2 <= looks.count <= 21  # one look per interval at most, the last one at the budget


async def test_released_says_whether_the_winner_let_go_in_time() -> None:
    patience = Patience(budget=0.1, interval=0.001)
    assert await patience.released(Looks(answer_at=2).still_leased) is True
    assert await patience.released(Looks(answer_at=None).still_leased) is False
