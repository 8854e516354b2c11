"""Faults suite, parsing part: one malformed upstream item never costs a feed more than that item.

Each case is a real Trakt calendar item broken in one way. Parsing must drop exactly that item (logged
once with its ids, counted for /metrics) and keep every good one, and whatever parsing accepts must
render: the renderer is never the one to find out that a value was absurd.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.drops import DropLog
from app.domain.entries import parse_episodes, parse_releases
from app.feeds.ics import build_events, render
from tests.support.corpus import ABSURD_BUT_USABLE, BAD_EPISODES, BAD_RELEASES, broken, movie_item, show_item
from tests.support.figures import Figures
from tests.support.ics import CALENDAR, options, revisions_for


def good_episodes() -> list[dict[str, Any]]:
    return [show_item(1), show_item(2, aired="2026-11-26T02:00:00.000Z"), show_item(3, show_id=11)]


def rendered(entries: list[Any], *, all_day: bool = False) -> bytes:
    events = build_events(entries, {}, options(all_day_episodes=all_day, alarm_minutes=15))
    return render(CALENDAR, events, revisions_for(events))


@pytest.mark.parametrize("case", BAD_EPISODES)
def test_a_malformed_show_item_is_dropped_and_every_good_one_kept(case: str) -> None:
    drops = DropLog()
    goods = good_episodes()
    parsed = parse_episodes([goods[0], BAD_EPISODES[case], *goods[1:]], drops, source="shows")
    assert [episode.trakt_id for episode in parsed] == [1, 2, 3], case
    assert drops.counts == {"shows": 1}
    assert b"BEGIN:VEVENT" in rendered(list(parsed))


@pytest.mark.parametrize("case", BAD_RELEASES)
def test_a_malformed_movie_item_is_dropped_and_every_good_one_kept(case: str) -> None:
    drops = DropLog()
    items = [movie_item(1), BAD_RELEASES[case], movie_item(2, released="2026-12-01")]
    parsed = parse_releases(items, "theatrical", drops, source="movies")
    assert [release.movie.trakt_id for release in parsed] == [1, 2], case
    assert drops.counts == {"movies": 1}


@pytest.mark.parametrize("case", ABSURD_BUT_USABLE)
@pytest.mark.parametrize("all_day", [False, True])
def test_absurd_optional_values_are_bounded_at_parse_and_render(case: str, all_day: bool) -> None:
    """The item stays (its date and ids are fine); the absurd value is left out or cut to size."""
    path, value = ABSURD_BUT_USABLE[case]
    drops = DropLog()
    (episode,) = parse_episodes([broken(show_item(), path, value)], drops, source="shows")
    assert drops.counts == {}
    assert episode.runtime is None or 0 < episode.runtime <= 24 * 60
    assert episode.show.runtime is None or 0 < episode.show.runtime <= 24 * 60
    assert episode.show.tmdb_id is None or 0 < episode.show.tmdb_id < 2**31
    assert episode.show.imdb_id is None or episode.show.imdb_id.startswith("tt")
    assert len(episode.overview or "") <= 20_000
    body = rendered([episode], all_day=all_day)
    body.decode("utf-8")
    assert len(body) < 100_000
    json.dumps({"title": episode.title, "slug": episode.show.slug}, ensure_ascii=False).encode()


def test_episodes_at_the_edges_of_the_accepted_range_render() -> None:
    """Dates just inside the accepted range render in every mode; just outside is dropped."""
    drops = DropLog()
    inside = [show_item(1, aired="1900-01-01T00:00:00Z"), show_item(2, aired="2199-12-31T23:59:59Z")]
    outside = [show_item(3, aired="1899-12-31T23:59:59Z"), show_item(4, aired="2200-01-01T00:00:00Z")]
    parsed = parse_episodes([*inside, *outside], drops, source="shows")
    assert [episode.trakt_id for episode in parsed] == [1, 2]
    assert drops.counts == {"shows": 2}
    for all_day in (False, True):
        assert rendered(list(parsed), all_day=all_day).count(b"BEGIN:VEVENT") == 2
    releases = parse_releases([movie_item(1, "1900-01-01"), movie_item(2, "2199-12-31")], "dvd", drops)
    assert rendered(list(releases)).count(b"BEGIN:VEVENT") == 2


def test_each_dropped_item_is_logged_once_with_its_ids_and_counted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cache re-parses its JSON on every rendering: the same bad item must not log every time."""
    drops = DropLog()
    payload = [show_item(1), broken(show_item(2, show_id=12), "first_aired", "9999-12-31T23:00:00-05:00")]
    with caplog.at_level(logging.WARNING, logger="app.domain.drops"):
        for _ in range(50):
            assert len(parse_episodes(payload, drops, source="shows")) == 1
    records = [record for record in caplog.records if record.name == "app.domain.drops"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "shows" in message and "episode 2" in message and "show 12" in message
    assert drops.counts == {"shows": 1}
    parse_episodes([None, 5], drops, source="shows/premieres")
    assert drops.counts == {"shows": 1, "shows/premieres": 2}


def test_the_log_line_of_a_dropped_item_carries_ids_never_its_text(caplog: pytest.LogCaptureFixture) -> None:
    secret = "tok_" + "s3cr3t" * 8
    item = broken(show_item(9), "show", {"title": secret, "ids": {"trakt": secret, "slug": secret}})
    with caplog.at_level(logging.WARNING, logger="app.domain.drops"):
        assert parse_episodes([item], DropLog(), source="shows") == []
    assert secret not in caplog.text
    assert "episode 9" in caplog.text


def test_drop_memory_is_bounded() -> None:
    drops = DropLog(remember=10)
    for n in range(100):
        parse_episodes([broken(show_item(n + 1), "show", None)], drops, source="shows")
    assert drops.counts == {"shows": 100}
    assert drops.remembered() <= 10


def test_parsed_instants_are_utc(figures: Figures) -> None:
    (episode,) = parse_episodes([show_item(1, aired="2026-11-25T01:00:00-05:00")], DropLog())
    assert episode.first_aired == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    cases = len(BAD_EPISODES) + len(BAD_RELEASES)
    figures.add("Faults", "malformed item cases, each dropped alone (parser)", cases)
