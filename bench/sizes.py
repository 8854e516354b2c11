"""How much work each benchmark does: the full run and `--quick` (the smoke test's tiny run).

Why fixed counts instead of "run for N seconds": a fixed count makes every run do the same work, so
two runs differ only in speed, and everything stops by itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sizes:
    throughput_requests: int  # per round, benchmarks 1 and 2
    throughput_rounds: int  # best round of each side counts (7: with 3 a single run swung by ±0.1)
    connections: int
    cold_repeats: int  # benchmark 3: fresh users measured, median reported
    warm_polls: int  # benchmark 4
    burst: int  # benchmark 4: concurrent polls of one cold feed
    render_events: tuple[int, ...]  # benchmark 5
    render_seconds: float  # minimum timed span per measurement
    feed_counts: tuple[int, ...]  # benchmark 6
    scale_requests: int
    crowd_feeds: int  # benchmark 7
    crowd_clients: int
    crowd_requests: int  # per round
    daily_hours: int  # benchmark 8: simulated hours to settle, then as many measured


FULL = Sizes(
    throughput_requests=3000,
    throughput_rounds=7,
    connections=4,
    cold_repeats=3,
    warm_polls=1000,
    burst=100,
    render_events=(100, 1000, 5000),
    render_seconds=1.0,
    feed_counts=(10, 10_000, 100_000),
    scale_requests=2000,
    crowd_feeds=1000,
    crowd_clients=200,
    crowd_requests=6000,
    daily_hours=24,
)

QUICK = Sizes(
    throughput_requests=100,
    throughput_rounds=1,
    connections=2,
    cold_repeats=1,
    warm_polls=50,
    burst=10,
    render_events=(20, 100),
    render_seconds=0.05,
    feed_counts=(10, 50),
    scale_requests=100,
    crowd_feeds=20,
    crowd_clients=10,
    crowd_requests=100,
    daily_hours=2,
)
