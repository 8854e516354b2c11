"""Poll counts gathered in memory and handed over in batches, so a warm poll writes nothing.

Why batched: a poll count written per request would make every warm poll a database write (and, on
SQLite, a wait for the one writer). The web app hands the batch to `Accounts.record_polls` now and
then, and once more at shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime


class PollCounter:
    """Fetches of each feed URL since the last `take`, with the time of the latest."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._polls: dict[int, tuple[int, datetime]] = {}

    def count(self, feed_id: int) -> None:
        count, _ = self._polls.get(feed_id, (0, None))
        self._polls[feed_id] = (count + 1, self._clock())

    def take(self) -> dict[int, tuple[int, datetime]]:
        """Everything counted so far, and start again from nothing."""
        polls, self._polls = self._polls, {}
        return polls
