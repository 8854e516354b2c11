"""Poll counts and resolved options: the feed service's small in-memory parts, tested alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.options import FeedOptions, OptionError
from app.feeds.optionsmemo import OptionsMemo
from app.feeds.polls import PollCounter


def test_polls_are_counted_per_feed_stamped_when_taken_and_taken_once() -> None:
    now = [datetime(2027, 1, 1, tzinfo=UTC)]
    counter = PollCounter(lambda: now[0])
    counter.count(1)
    now[0] += timedelta(minutes=5)
    counter.count(1)
    counter.count(2)
    assert counter.take() == {1: (2, now[0]), 2: (1, now[0])}
    assert counter.take() == {}


def test_a_batch_whose_write_failed_goes_out_with_the_next_one() -> None:
    """A failed write (database locked or restarting) loses no poll, and keeps each feed's latest time."""
    start = datetime(2027, 1, 1, tzinfo=UTC)
    now = [start]
    counter = PollCounter(lambda: now[0])
    counter.count(1)
    counter.count(1)
    counter.count(2)
    failed = counter.take()
    now[0] += timedelta(seconds=30)
    counter.count(2)
    counter.give_back(failed)
    assert counter.take() == {1: (2, start), 2: (2, now[0])}
    counter.give_back({3: (1, start)})
    counter.give_back({3: (4, now[0])})  # failed twice: both batches, the later time
    assert counter.take() == {3: (5, now[0])}
    assert counter.take() == {}


def test_options_are_the_stored_ones_with_the_overrides_on_top() -> None:
    memo = OptionsMemo()
    stored = json.dumps(FeedOptions(alarm=30, all_day=True).to_json())
    assert memo.resolve(stored, {}) == FeedOptions(alarm=30, all_day=True)
    assert memo.resolve(stored, {"alarm": "10"}) == FeedOptions(alarm=10, all_day=True)
    assert memo.resolve(stored, {"alarm": "10"}) is memo.resolve(stored, {"alarm": "10"})
    with pytest.raises(OptionError):
        memo.resolve(stored, {"alarm": "soon"})


def test_a_full_options_memo_starts_again_and_still_answers() -> None:
    memo = OptionsMemo(size=2)
    stored = json.dumps(FeedOptions().to_json())
    answers = [memo.resolve(stored, {"past_days": str(days)}) for days in range(1, 6)]
    assert [options.past_days for options in answers] == [1, 2, 3, 4, 5]
