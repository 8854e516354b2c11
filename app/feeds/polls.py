"""Poll counts gathered in memory and handed over in batches, so a warm poll writes nothing.

Why batched: a poll count written per request would make every warm poll a database write (and, on
SQLite, a wait for the one writer). The web app hands the batch to `Accounts.record_polls` now and
then, and once more at shutdown.

Why the time is the batch's: reading the clock on every poll cost a warm poll more than counting it,
and "last polled" only needs to be as exact as the batches are frequent (30 s under `airdate serve`).

Why a failed batch is given back: a write can fail (SQLite locked past its busy timeout, PostgreSQL
restarting), and the counts it carried exist nowhere else; they go out with the next batch instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

Batch = dict[int, tuple[int, datetime]]  # feed id -> (polls, the latest poll's time as far as known)


class PollCounter:
    """Fetches of each feed URL since the last `take`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._polls: Counter[int] = Counter()
        self._unwritten: Batch = {}  # batches given back, each feed with its own latest time

    def count(self, feed_id: int) -> None:
        self._polls[feed_id] += 1

    def take(self) -> Batch:
        """Every feed's count so far, with the time of taking as its latest poll; start again."""
        polls, self._polls = self._polls, Counter()
        batch, self._unwritten = self._unwritten, {}
        now = self._clock()
        for feed_id, count in polls.items():
            earlier = batch[feed_id][0] if feed_id in batch else 0
            batch[feed_id] = (earlier + count, now)
        return batch

    def give_back(self, batch: Batch) -> None:
        """A taken batch whose write failed: the next `take` includes it."""
        for feed_id, (count, latest) in batch.items():
            if feed_id in self._unwritten:
                earlier, other = self._unwritten[feed_id]
                count, latest = earlier + count, max(latest, other)
            self._unwritten[feed_id] = (count, latest)
