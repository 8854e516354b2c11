"""The calendar cache's rules, with no database and no sandbox: the grid, each chunk's state, the
upstream work a request does, the backoff after a failure, and the answer assembled from the rows.

The same rules through the real parts (sandbox, SQLite, PostgreSQL) are `tests/test_calendar_cache.py`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from app.core.errors import RateLimited, Unavailable
from app.domain.drops import DropLog
from app.domain.entries import Episode, Release
from app.domain.sources import SOURCES
from app.feeds.calendar import CHUNK_DAYS, EPOCH, CalendarResult, Chunk, Window, chunks_for
from app.feeds.calendar.plan import (
    MAX_BACKOFF,
    MIN_BACKOFF,
    State,
    assemble,
    plan,
    retry_delay,
    state,
)
from app.store.chunks import ChunkKey, ChunkRow
from tests.support.corpus import movie_item, show_item

NEW_YORK = ZoneInfo("America/New_York")
SHOWS, PREMIERES, MOVIES = SOURCES["shows"], SOURCES["premieres"], SOURCES["movies"]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)  # the calendar's stale_if_error
HOUR = timedelta(hours=1)


def row(
    payload: list[Any] | None = None,
    *,
    age: timedelta = timedelta(minutes=10),
    expires_in: timedelta = HOUR,
    **fields: Any,
) -> ChunkRow:
    """A cache row fetched `age` ago that expires `expires_in` from NOW (negative: expired)."""
    fetched = NOW - age if payload is not None else None
    expires = NOW + expires_in if payload is not None else None
    return ChunkRow(payload, fetched, expires, **fields)


def grid(k: int) -> date:
    """The start of the grid's k-th chunk."""
    return EPOCH + timedelta(days=CHUNK_DAYS * k)


def chunk(source_name: str = "shows", start: date = date(2026, 11, 16), **kw: Any) -> Chunk:
    return Chunk(1, SOURCES[source_name], start, CHUNK_DAYS, **kw)


# -- the grid --------------------------------------------------------------------------------------


def test_chunks_sit_on_one_grid_and_cover_the_window_instants() -> None:
    for start, end, tz in [
        (date(2026, 11, 18), date(2026, 12, 25), NEW_YORK),
        (date(2026, 1, 1), date(2026, 12, 31), ZoneInfo("Asia/Tokyo")),
        (date(2026, 3, 1), date(2026, 3, 1), ZoneInfo("UTC")),
    ]:
        window = Window(start, end, tz)
        chunks = chunks_for(window)
        first, after = window.instants()
        assert all((begin - EPOCH).days % CHUNK_DAYS == 0 and days == CHUNK_DAYS for begin, days in chunks)
        assert [b for b, _ in chunks] == sorted({b for b, _ in chunks})
        assert all(b2 - b1 == timedelta(days=CHUNK_DAYS) for (b1, _), (b2, _) in pairwise(chunks))
        assert chunks[0][0] <= first.date()
        assert (after - timedelta(microseconds=1)).date() < chunks[-1][0] + timedelta(days=CHUNK_DAYS)


def test_local_edges_reach_into_the_neighbouring_utc_days() -> None:
    """New York's last evening is the next UTC day; Tokyo's first morning is the previous one."""
    grid_end = EPOCH + timedelta(days=CHUNK_DAYS * 300)  # a chunk starts here
    new_york = chunks_for(Window(grid_end - timedelta(days=5), grid_end - timedelta(days=1), NEW_YORK))
    assert [begin for begin, _ in new_york] == [grid_end - timedelta(days=CHUNK_DAYS), grid_end]
    tokyo = chunks_for(Window(grid_end, grid_end + timedelta(days=3), ZoneInfo("Asia/Tokyo")))
    assert [begin for begin, _ in tokyo] == [grid_end - timedelta(days=CHUNK_DAYS), grid_end]


def test_overlapping_windows_of_different_days_share_chunks() -> None:
    today = date(2026, 11, 25)
    monday = set(chunks_for(Window(today - timedelta(days=7), today + timedelta(days=60), NEW_YORK)))
    tuesday = set(chunks_for(Window(today - timedelta(days=6), today + timedelta(days=61), NEW_YORK)))
    assert len(monday & tuesday) >= len(monday) - 1


def test_an_unwatched_calendar_is_a_row_of_its_own_and_reads_back_as_one() -> None:
    plain, unwatched = chunk(), chunk(ignore_watched=True)
    assert plain.key == ChunkKey(1, "shows", date(2026, 11, 16), CHUNK_DAYS)
    assert unwatched.key == ChunkKey(1, "shows+unwatched", date(2026, 11, 16), CHUNK_DAYS)
    assert Chunk.of(plain.key) == plain and Chunk.of(unwatched.key) == unwatched


def test_a_row_of_a_source_that_no_longer_exists_is_no_chunk() -> None:
    assert Chunk.of(ChunkKey(1, "anime", date(2026, 11, 16), CHUNK_DAYS)) is None


# -- each chunk's state ----------------------------------------------------------------------------


def test_good_data_before_its_expiry_is_fresh() -> None:
    assert state(row([]), NOW, WEEK) is State.FRESH


def test_good_data_past_its_expiry_is_stale_for_a_week() -> None:
    assert state(row([], age=2 * HOUR, expires_in=-HOUR), NOW, WEEK) is State.STALE
    assert state(row([], age=WEEK - HOUR, expires_in=-HOUR), NOW, WEEK) is State.STALE
    assert state(row([], age=WEEK, expires_in=-HOUR), NOW, WEEK) is State.MISSING  # too old to serve


def test_no_row_or_a_leased_placeholder_is_missing() -> None:
    assert state(None, NOW, WEEK) is State.MISSING
    assert state(row(None, lease_until=NOW + HOUR), NOW, WEEK) is State.MISSING


def test_a_backoff_makes_stale_and_missing_chunks_failing_but_not_fresh_ones() -> None:
    failed_at, retry_after = NOW - HOUR, NOW + timedelta(minutes=5)
    backing_off = row([], expires_in=-HOUR, failed_at=failed_at, retry_after=retry_after)
    assert state(backing_off, NOW, WEEK) is State.FAILING
    assert state(row(None, failed_at=failed_at, retry_after=retry_after), NOW, WEEK) is State.FAILING
    assert state(row([], failed_at=failed_at, retry_after=retry_after), NOW, WEEK) is State.FRESH
    over = row([], expires_in=-HOUR, failed_at=failed_at, retry_after=NOW)  # the backoff ends now: ask again
    assert state(over, NOW, WEEK) is State.STALE


# -- what a request does -------------------------------------------------------------------------


def test_a_request_refreshes_the_stale_fetches_the_missing_and_leaves_the_rest() -> None:
    fresh, stale, leased, missing, failing = (
        chunk(start=EPOCH + timedelta(days=CHUNK_DAYS * k)) for k in range(5)
    )
    rows = {
        fresh.key: row([]),
        stale.key: row([], expires_in=-HOUR),
        leased.key: row([], expires_in=-HOUR, lease_until=NOW + timedelta(seconds=20)),
        failing.key: row(None, failed_at=NOW, retry_after=NOW + timedelta(minutes=1)),
    }
    todo = plan([fresh, stale, leased, missing, failing], rows, NOW, WEEK)
    assert todo.refresh == [stale]  # another process is refreshing `leased`
    assert todo.fetch == [missing]
    assert todo.states[failing] is State.FAILING and todo.states[leased] is State.STALE
    assert todo.has_data and not todo.settled


def test_a_request_with_nothing_usable_waits_without_a_budget() -> None:
    first, second = chunk(), chunk("premieres")
    todo = plan([first, second], {second.key: row([], age=WEEK)}, NOW, WEEK)
    assert todo.fetch == [first, second] and not todo.has_data


def test_a_request_whose_chunks_are_all_fresh_asks_nothing() -> None:
    chunks = [chunk(), chunk("movies")]
    todo = plan(chunks, {c.key: row([]) for c in chunks}, NOW, WEEK)
    assert todo.settled and todo.refresh == [] and todo.fetch == []


# -- backoff ---------------------------------------------------------------------------------------


def test_a_429_is_left_alone_as_long_as_trakt_asked_and_at_least_a_second() -> None:
    assert retry_delay(RateLimited("slow down", retry_after=90), None, NOW) == timedelta(seconds=90)
    assert retry_delay(RateLimited("slow down", retry_after=0), None, NOW) == timedelta(seconds=1)


def test_an_outage_backoff_grows_with_the_outage_from_a_minute_to_an_hour() -> None:
    down = Unavailable("Trakt is down")
    assert retry_delay(down, None, NOW) == MIN_BACKOFF
    assert retry_delay(down, NOW - timedelta(seconds=10), NOW) == MIN_BACKOFF
    assert retry_delay(down, NOW - timedelta(minutes=10), NOW) == timedelta(minutes=10)
    assert retry_delay(down, NOW - timedelta(hours=5), NOW) == MAX_BACKOFF == HOUR


# -- assembling ------------------------------------------------------------------------------------


WINDOW = Window(date(2026, 11, 20), date(2026, 11, 30), NEW_YORK)


def answer(
    chunks: list[Chunk],
    rows: dict[ChunkKey, ChunkRow],
    *,
    needs_reconnect: bool = False,
    drops: DropLog | None = None,
) -> CalendarResult:
    return assemble(
        chunks,
        rows,
        WINDOW,
        NOW,
        stale_if_error=WEEK,
        needs_reconnect=needs_reconnect,
        drops=drops or DropLog(),
    )


def test_the_same_episode_from_two_sources_is_one_entry_in_airing_order() -> None:
    shows, premieres = chunk(), chunk("premieres")
    late, early = (
        show_item(2, aired="2026-11-27T01:00:00.000Z"),
        show_item(1, aired="2026-11-25T01:00:00.000Z"),
    )
    rows = {shows.key: row([late, early]), premieres.key: row([early])}
    result = answer([shows, premieres], rows)
    assert [e.trakt_id for e in result.entries if isinstance(e, Episode)] == [1, 2]
    assert not result.incomplete and not result.stale and result.failing_since is None


def test_episodes_are_kept_by_their_instant_in_the_owners_zone_releases_by_their_date() -> None:
    """01:00Z on the 21st is 20:00 on the 20th in New York: inside; 05:00Z on 1 December is
    midnight there, the first instant after the window: outside."""
    shows, movies = chunk(), chunk("movies")
    rows = {
        shows.key: row(
            [
                show_item(1, aired="2026-11-21T01:00:00.000Z"),
                show_item(2, aired="2026-11-20T04:59:00.000Z"),  # 23:59 on the 19th in New York
                show_item(3, aired="2026-12-01T05:00:00.000Z"),
            ]
        ),
        movies.key: row([movie_item(500, "2026-11-30"), movie_item(501, "2026-12-01")]),
    }
    result = answer([shows, movies], rows)
    assert [e.trakt_id for e in result.entries if isinstance(e, Episode)] == [1]
    assert [e.movie.trakt_id for e in result.entries if isinstance(e, Release)] == [500]


def test_entries_of_one_show_or_movie_share_one_title_object_across_chunks() -> None:
    """A rendering keeps its entries while it is warm: one copy of each show and movie it holds, not
    one per episode or release (fewer objects for the collector to walk, a smaller heap)."""
    this_week, next_week, movies, dvd = chunk(), chunk(start=grid(1)), chunk("movies"), chunk("dvd")
    other_show = show_item(4, show_id=11, aired="2026-11-26T01:00:00.000Z")
    other_show["show"]["title"] = "Another Show"
    renamed = show_item(5, aired="2026-11-28T01:00:00.000Z")
    renamed["show"]["network"] = "Max"  # the same show as Trakt described it later: its own object
    rows = {
        this_week.key: row([show_item(1), show_item(2, aired="2026-11-26T01:00:00.000Z"), other_show]),
        next_week.key: row([show_item(3, aired="2026-11-27T01:00:00.000Z"), renamed]),
        movies.key: row([movie_item(500, "2026-11-27")]),
        dvd.key: row([movie_item(500, "2026-11-29")]),
    }
    result = answer([this_week, next_week, movies, dvd], rows)
    shows = {e.trakt_id: e.show for e in result.entries if isinstance(e, Episode)}
    assert shows[1] is shows[2] is shows[3]  # across the items of a chunk and across chunks
    assert shows[4] is not shows[1] and shows[4].title == "Another Show"
    assert shows[5] is not shows[1] and shows[5].network == "Max" and shows[1].network == "HBO"
    theatrical, disc = (e for e in result.entries if isinstance(e, Release))
    assert (theatrical.kind, disc.kind) == ("theatrical", "dvd") and theatrical.movie is disc.movie


def test_the_answer_says_how_fresh_complete_and_healthy_it_is() -> None:
    fresh, stale, failing, missing = (chunk(start=grid(k)) for k in range(4))
    outage = NOW - timedelta(hours=3)
    rows = {
        fresh.key: row([], expires_in=2 * HOUR),
        stale.key: row([], expires_in=-HOUR, failed_at=NOW - HOUR),
        failing.key: row(None, failed_at=outage, retry_after=NOW + HOUR),
    }
    result = answer([fresh, stale, failing, missing], rows, needs_reconnect=True)
    assert result.fresh_until == NOW - HOUR  # the earliest expiry among the chunks served
    assert result.stale and result.incomplete and result.needs_reconnect
    assert result.failing_since == outage


def test_with_no_usable_chunk_the_answer_is_empty_incomplete_and_expires_now() -> None:
    result = answer([chunk()], {})
    assert result.entries == [] and result.incomplete and result.fresh_until == NOW and not result.stale


def test_a_malformed_item_is_dropped_and_counted_and_the_rest_kept() -> None:
    drops = DropLog()
    good, bad = show_item(1), show_item(2)
    del bad["episode"]["ids"]
    result = answer([chunk()], {chunk().key: row([bad, good])}, drops=drops)
    assert [e.trakt_id for e in result.entries if isinstance(e, Episode)] == [1]
    assert drops.counts == {"shows": 1}
