"""Poll counts gathered in memory and handed over in batches, so a warm poll writes nothing.

Why batched: a poll count written per request would make every warm poll a database write (and, on
SQLite, a wait for the one writer). The web app hands the batch to `Accounts.record_polls` now and
then, and once more at shutdown.

Why the time is the batch's: reading the clock on every poll cost a warm poll more than counting it,
and "last polled" only needs to be as exact as the batches are frequent (30 s under `airdate serve`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime


class PollCounter:
    """Fetches of each feed URL since the last `take`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._polls: Counter[int] = Counter()

    def count(self, feed_id: int) -> None:
        self._polls[feed_id] += 1

    def take(self) -> dict[int, tuple[int, datetime]]:
        """Every feed's count so far, with the time of taking as its latest poll; start again."""
        polls, self._polls = self._polls, Counter()
        now = self._clock()
        return {feed_id: (count, now) for feed_id, count in polls.items()}
