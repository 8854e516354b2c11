"""The refresh plan: near-term chunks live one TTL, far-future ones longer, but never past the moment
they come within the near-term horizon, so near-term data is never older than the TTL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.feeds.calendar.freshness import FAR_FACTOR, NEAR_TERM, expires_at
from tests.support.world import TTL, World

NOW = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
WEEK = timedelta(days=7)  # how long the calendar serves a chunk after its fetch (stale-if-error)
LONGEST = WEEK / 2  # what the calendar allows a chunk's lifetime
TODAY = NOW.date()


def test_a_chunk_that_reaches_into_the_near_term_lives_one_ttl() -> None:
    for start in (TODAY - timedelta(days=40), TODAY - timedelta(days=1), TODAY, TODAY + NEAR_TERM):
        assert expires_at(NOW, start, TTL, longest=LONGEST) == NOW + TTL


def test_a_far_chunk_lives_longer() -> None:
    start = TODAY + NEAR_TERM + timedelta(days=30)
    assert expires_at(NOW, start, TTL, longest=LONGEST) == NOW + FAR_FACTOR * TTL


def test_with_the_longest_ttl_a_far_chunk_comes_due_long_before_it_may_no_longer_be_served() -> None:
    """AIRDATE_CACHE_TTL may be a day: eight of them would outlive the week a chunk is served, and
    the chunk would drop out of the feed with nobody renewing it (it was not yet due)."""
    day = timedelta(seconds=86_400)  # the largest TTL the configuration accepts
    start = TODAY + NEAR_TERM + timedelta(days=60)
    assert expires_at(NOW, start, day, longest=LONGEST) == NOW + LONGEST < NOW + WEEK


def test_a_far_chunk_expires_when_it_comes_within_the_horizon() -> None:
    # Enters the near-term horizon at midnight UTC tonight: its data must not outlive that moment.
    start = TODAY + NEAR_TERM + timedelta(days=1)
    entering = datetime.combine(start - NEAR_TERM, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    assert expires_at(NOW, start, TTL, longest=LONGEST) == max(NOW + TTL, entering)


def test_no_chunk_lives_less_than_one_ttl() -> None:
    for days in range(-40, 120):
        start = TODAY + timedelta(days=days)
        assert NOW + TTL <= expires_at(NOW, start, TTL, longest=LONGEST) <= NOW + FAR_FACTOR * TTL


def test_near_term_data_is_never_older_than_the_ttl() -> None:
    """Walk a day in 10-minute steps, refreshing a chunk whenever it has expired: whenever the
    chunk is near-term, its data is at most one TTL old."""
    start = date(2026, 12, 21)  # enters the 14-day horizon during the walk
    fetched = NOW
    expiry = expires_at(fetched, start, TTL, longest=LONGEST)
    now = NOW
    near_seen = False
    while now < NOW + timedelta(days=2):
        now += timedelta(minutes=10)
        if now >= expiry:
            fetched, expiry = now, expires_at(now, start, TTL, longest=LONGEST)
        if start - (now.date() + timedelta(days=1)) <= NEAR_TERM:
            near_seen = True
            assert now - fetched <= TTL
    assert near_seen


async def test_the_calendar_cache_stores_each_chunk_with_the_plans_expiry(world: World) -> None:
    await world.entries(world.window(before=0, after=120))
    rows = await world.rows()
    assert rows
    for row in rows:
        assert row.fetched_at is not None
        assert row.expires_at == expires_at(row.fetched_at, row.start_date, TTL, longest=LONGEST)
    lifetimes = {row.expires_at - row.fetched_at for row in rows if row.expires_at and row.fetched_at}
    assert TTL in lifetimes and max(lifetimes) > TTL  # near chunks and far ones both seen
