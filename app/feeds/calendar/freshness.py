"""How long a stored calendar chunk stays fresh: one TTL near today, longer far in the future.

Why: at steady state nearly every Trakt call is the refresher renewing a chunk of someone who polls,
one call per chunk per TTL. What a person looks at in the coming days must be at most one TTL old,
but chunks weeks or months ahead change rarely (a new episode date, a premiere moved), so they may
live `FAR_FACTOR` TTLs, which cuts a typical half-year feed's calls severalfold (`make bench`,
benchmark 8, prints by how much). A far chunk never outlives the moment it comes within `NEAR_TERM`
of today, so the freshness rule holds for near-term data however the two meet; nor the `longest` the
caller allows: data is served at most a week after its fetch (stale-if-error), so a chunk must come
due well before that, or with a long TTL it would drop out of the feed before anyone renewed it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

NEAR_TERM = timedelta(days=14)  # data starting within this of today is held to one TTL
FAR_FACTOR = 8  # a far chunk lives this many TTLs (at most: see expires_at)
# The UTC date can be a day behind a user's (UTC+14), so "today" is taken a day late to stay safe.
_SLACK = timedelta(days=1)


def expires_at(fetched_at: datetime, start: date, ttl: timedelta, *, longest: timedelta) -> datetime:
    """When a chunk starting on `start`, fetched at `fetched_at`, goes stale: one TTL near today,
    up to `FAR_FACTOR` TTLs further out, never more than `longest` (unless one TTL is longer)."""
    near_from = datetime.combine(start - NEAR_TERM - _SLACK, time(), tzinfo=UTC)
    if near_from <= fetched_at:
        return fetched_at + ttl
    far = min(fetched_at + FAR_FACTOR * ttl, near_from, fetched_at + longest)
    return max(fetched_at + ttl, far)
