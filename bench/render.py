"""Benchmark 5: `ics.render` against a naive `icalendar` build of the same events.

Why re-render is the headline: a feed's events barely change between polls, so after a refresh the
service re-renders mostly unchanged events, which the per-event serialization cache should make cheap.
The first (cold) render is printed too, so the cache is not mistaken for a faster serializer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from app.feeds import ics
from bench import naive, synth
from bench.lab import Lab
from bench.procs import BenchError
from bench.report import Result
from bench.sizes import Sizes

TARGET = 5.0
TZ = ZoneInfo("America/New_York")
MODIFIED = datetime(2026, 1, 1, tzinfo=UTC)
INFO = ics.CalendarInfo(name="Trakt · Bench — Bench", description="Synthetic", refresh=timedelta(hours=1))


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    results: list[Result] = []
    feed_ids = iter(range(1, 1_000_000))  # a new feed id gives new UIDs: a render nothing is cached for
    for count in sizes.render_events:
        results.extend(_measure(count, sizes.render_seconds, feed_ids))
    return results


def _measure(count: int, min_seconds: float, feed_ids: Iterator[int]) -> list[Result]:
    entries, posters = synth.entries(count)

    def fresh_events() -> tuple[list[ics.Event], dict[str, ics.Revision]]:
        options = ics.RenderOptions(feed_id=next(feed_ids), tz=TZ, alarm_minutes=30)
        events = ics.build_events(entries, posters, options)
        if len(events) != count:
            raise BenchError(f"synthesized {count} entries but built {len(events)} events")
        return events, {event.uid: ics.Revision(0, MODIFIED) for event in events}

    events, revisions = fresh_events()
    _check_same_calendar(ics.render(INFO, events, revisions), naive.render(INFO, events, revisions))
    naive_rate = count / _per_call(lambda: naive.render(INFO, events, revisions), min_seconds)
    warm_rate = count / _per_call(lambda: ics.render(INFO, events, revisions), min_seconds)
    cold_rate = count / _cold_per_call(fresh_events, min_seconds)
    print(
        f"  {count:,} events: naive {naive_rate:,.0f}/s, first render {cold_rate:,.0f}/s, "
        f"re-render {warm_rate:,.0f}/s"
    )
    name = f"5. rendering {count:,} events"
    baseline = f"{naive_rate:,.0f} ev/s naive"
    return [
        Result(
            f"{name}, re-render",
            f"{warm_rate:,.0f} ev/s",
            baseline,
            warm_rate / naive_rate,
            f">= {TARGET:g}x naive",
            warm_rate / naive_rate >= TARGET,
        ),
        Result(
            f"{name}, first render",
            f"{cold_rate:,.0f} ev/s",
            baseline,
            cold_rate / naive_rate,
            "(no target)",
            None,
        ),
    ]


def _per_call(work: Callable[[], bytes], min_seconds: float) -> float:
    """Seconds per call, repeating until `min_seconds` have passed so short calls are not noise."""
    calls = 0
    started = time.perf_counter()
    while True:
        work()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / calls


def _cold_per_call(
    fresh: Callable[[], tuple[list[ics.Event], dict[str, ics.Revision]]], min_seconds: float
) -> float:
    """Like `_per_call` for first renders: each call gets never-rendered events, built untimed."""
    calls = 0
    spent = 0.0
    while spent < min_seconds:
        events, revisions = fresh()
        started = time.perf_counter()
        ics.render(INFO, events, revisions)
        spent += time.perf_counter() - started
        calls += 1
    return spent / calls


def _check_same_calendar(rendered: bytes, baseline: bytes) -> None:
    """The baseline must do the same job: equal calendars once both are parsed and re-serialized."""
    ours = Calendar.from_ical(rendered).to_ical(sorted=True).splitlines()
    theirs = Calendar.from_ical(baseline).to_ical(sorted=True).splitlines()
    for line, (mine, naive_line) in enumerate(zip(ours, theirs, strict=False), start=1):
        if mine != naive_line:
            raise BenchError(
                f"the naive baseline differs from ics.render at line {line}: "
                f"{naive_line!r} instead of {mine!r}"
            )
    if len(ours) != len(theirs):
        raise BenchError(f"the naive baseline has {len(theirs)} lines, ics.render {len(ours)}")
