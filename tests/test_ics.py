"""Unit behaviour of the iCalendar generator: what each kind of entry becomes, decoded by `icalendar`.

The entry factories and `assert_conforms` come from `tests.support.ics`, shared with the other
`test_ics_*` modules, so every test builds entries the same way, judges files the same way and says
only what matters to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from app import __version__
from app.domain.entries import Entry, Episode, ReleaseKind, Show
from app.feeds.ics import CalendarInfo, Event, Notice, PosterKey, Revision, build_events, frame, render
from tests.conformance.lint import lint
from tests.support.ics import CALENDAR, MODIFIED, POSTER, episode, options, release, revisions_for, show


def feed(
    entries: Iterable[Entry],
    *,
    posters: Mapping[PosterKey, str] | None = None,
    notices: Iterable[Notice] = (),
    **option_fields: Any,
) -> bytes:
    """Build and render with every event at revision 0, the way a brand-new feed is served."""
    events = build_events(entries, posters or {}, options(**option_fields), notices)
    return render(CALENDAR, events, revisions_for(events))


def vevents(data: bytes) -> list[icalendar.Event]:
    """Decode with `icalendar` after checking the file is clean; the order is the file's."""
    assert [finding for finding in lint(data) if finding.severity == "error"] == []
    calendar = icalendar.Calendar.from_ical(data)
    return [event for event in calendar.walk("VEVENT") if isinstance(event, icalendar.Event)]


def only(data: bytes) -> icalendar.Event:
    (event,) = vevents(data)
    return event


def text(component: icalendar.cal.component.Component, name: str) -> str | None:
    value = component.get(name)
    return None if value is None else str(value)


# --- episodes ---------------------------------------------------------------------------------------


def test_episode_summary_is_show_code_and_title() -> None:
    event = only(feed([episode(of=show(title="Severance"), season=2, number=3, title="Who Is Alive?")]))
    assert text(event, "SUMMARY") == "Severance S02E03 · Who Is Alive?"


@pytest.mark.parametrize(
    "title", [None, "Episode 5", "episode 12", "Episode #1.5", "TBA", "tbd", "To Be Announced"]
)
def test_placeholder_episode_titles_are_left_out(title: str | None) -> None:
    event = only(feed([episode(of=show(title="Severance"), season=1, number=5, title=title)]))
    assert text(event, "SUMMARY") == "Severance S01E05"


def test_a_title_that_only_mentions_an_episode_is_kept() -> None:
    event = only(feed([episode(of=show(title="Lost"), number=5, title="Episode 5 Returns")]))
    assert text(event, "SUMMARY") == "Lost S01E05 · Episode 5 Returns"


@pytest.mark.parametrize(
    ("episode_type", "label"),
    [
        ("series_premiere", "Series premiere"),
        ("season_premiere", "Season premiere"),
        ("mid_season_premiere", "Mid-season premiere"),
        ("mid_season_finale", "Mid-season finale"),
        ("season_finale", "Season finale"),
        ("series_finale", "Series finale"),
    ],
)
def test_premieres_and_finales_are_labelled(episode_type: str, label: str) -> None:
    event = only(
        feed([episode(of=show(title="Dark"), number=10, title="Origins", episode_type=episode_type)])
    )
    assert text(event, "SUMMARY") == f"{label}: Dark S01E10 · Origins"
    assert list(event.categories) == ["TV", label]


def test_standard_and_unknown_episode_types_carry_only_the_general_category() -> None:
    for episode_type in ("standard", "something_new"):
        event = only(feed([episode(title="Pilot", episode_type=episode_type)]))
        assert text(event, "SUMMARY") == "The Show S01E05 · Pilot"
        assert list(event.categories) == ["TV"]


def test_timed_episode_starts_at_the_air_instant_in_utc() -> None:
    aired = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)
    data = feed([episode(aired=aired, runtime=42)])
    event = only(data)
    assert event.start == aired and event.end == aired + timedelta(minutes=42)
    assert b"DTSTART:20260310T013000Z\r\n" in data
    assert b"TZID" not in data


@pytest.mark.parametrize(
    ("episode_runtime", "show_runtime", "minutes"), [(42, 30, 42), (None, 30, 30), (None, None, 60)]
)
def test_duration_falls_back_from_episode_to_show_to_an_hour(
    episode_runtime: int | None, show_runtime: int | None, minutes: int
) -> None:
    event = only(feed([episode(of=show(runtime=show_runtime), runtime=episode_runtime)]))
    assert event.end - event.start == timedelta(minutes=minutes)


def test_episode_description_has_overview_network_trakt_link_and_poster() -> None:
    entry = episode(
        of=show(trakt_id=3, title="Severance", slug="severance", network="Apple TV+"),
        season=2,
        number=3,
        overview="Mark goes\nback; to work, again.",
    )
    event = only(feed([entry], posters={("show", 3): POSTER}))
    link = "https://trakt.tv/shows/severance/seasons/2/episodes/3"
    assert text(event, "DESCRIPTION") == (
        f"Mark goes\nback; to work, again.\n\nNetwork: Apple TV+\n\nTrakt: {link}\n\nPoster: {POSTER}"
    )
    assert text(event, "URL") == link
    assert text(event, "LOCATION") == "Apple TV+"


def test_trakt_url_uses_the_id_when_there_is_no_slug() -> None:
    event = only(feed([episode(of=show(trakt_id=42, slug=None), season=1, number=2)]))
    assert text(event, "URL") == "https://trakt.tv/shows/42/seasons/1/episodes/2"
    movie = only(feed([release(trakt_id=77)]))
    assert text(movie, "URL") == "https://trakt.tv/movies/77"


def test_no_poster_means_no_image_no_attach_and_no_poster_line() -> None:
    data = feed([episode(of=show(trakt_id=3))], posters={("show", 4): POSTER, ("movie", 3): POSTER})
    event = only(data)
    assert event.get("IMAGE") is None and event.get("ATTACH") is None
    assert "Poster" not in (text(event, "DESCRIPTION") or "")


def test_poster_is_an_rfc7986_image_and_an_attachment() -> None:
    data = feed([episode(of=show(trakt_id=3))], posters={("show", 3): POSTER})
    unfolded = data.replace(b"\r\n ", b"")
    assert f"IMAGE;VALUE=URI;DISPLAY=BADGE;FMTTYPE=image/jpeg:{POSTER}\r\n".encode() in unfolded
    assert f"ATTACH;FMTTYPE=image/jpeg:{POSTER}\r\n".encode() in unfolded


def test_a_poster_says_its_own_image_type() -> None:
    for extension, media_type in (("png", "image/png"), ("webp", "image/webp"), ("svg", "image/svg+xml")):
        poster = f"https://image.tmdb.org/t/p/w500/poster.{extension}"
        unfolded = feed([episode(of=show(trakt_id=3))], posters={("show", 3): poster}).replace(b"\r\n ", b"")
        assert f"IMAGE;VALUE=URI;DISPLAY=BADGE;FMTTYPE={media_type}:{poster}\r\n".encode() in unfolded
        assert f"ATTACH;FMTTYPE={media_type}:{poster}\r\n".encode() in unfolded


def test_a_poster_that_is_not_a_clean_uri_is_dropped_rather_than_breaking_the_file() -> None:
    data = feed([episode(of=show(trakt_id=3))], posters={("show", 3): "https://x/a b\r\nEND:VEVENT"})
    event = only(data)
    assert event.get("IMAGE") is None and event.get("ATTACH") is None


def test_every_event_is_free_confirmed_and_transparent() -> None:
    data = feed([episode(), release()], notices=[Notice("hello", date(2026, 3, 1), "Hi", "There")])
    for event in vevents(data):
        assert text(event, "TRANSP") == "TRANSPARENT"
        assert text(event, "STATUS") == "CONFIRMED"
        assert text(event, "X-MICROSOFT-CDO-BUSYSTATUS") == "FREE"


# --- binge drops -------------------------------------------------------------------------------------

DROP_AIRED = datetime(2026, 3, 20, 7, 0, tzinfo=UTC)


def drop(numbers: Iterable[int], *, season: int = 2, of: Show | None = None) -> list[Episode]:
    """Episodes released at one instant, with runtimes that differ so 'the longest' is observable."""
    owner = of or show(trakt_id=9, title="Stranger Things", slug="stranger-things")
    return [
        episode(
            trakt_id=100_000 * owner.trakt_id + 1000 * season + number,
            of=owner,
            season=season,
            number=number,
            aired=DROP_AIRED,
            title=f"Chapter {number}",
            runtime=40 + number,
        )
        for number in numbers
    ]


def test_episodes_released_together_become_one_drop_event() -> None:
    event = only(feed(drop(range(1, 9))))
    assert text(event, "SUMMARY") == "Stranger Things S02E01–E08"
    assert event.start == DROP_AIRED
    assert event.end == DROP_AIRED + timedelta(minutes=48)  # the longest episode, not the sum
    description = text(event, "DESCRIPTION") or ""
    for number in range(1, 9):
        assert f"S02E{number:02d} · Chapter {number}\n" in description + "\n"
    assert text(event, "URL") == "https://trakt.tv/shows/stranger-things/seasons/2"


def test_a_drop_with_gaps_lists_each_number() -> None:
    event = only(feed(drop([1, 2, 5])))
    assert text(event, "SUMMARY") == "Stranger Things S02E01, E02, E05"


def test_drop_uid_survives_the_drop_growing_and_shrinking() -> None:
    uids = {only(feed(drop(numbers))).get("UID") for numbers in ([1, 2], [1, 2, 3, 4, 5], [2, 3])}
    assert len(uids) == 1


def test_grouping_off_gives_one_event_per_episode() -> None:
    events = vevents(feed(drop(range(1, 4)), group_drops=False))
    assert [text(event, "SUMMARY") for event in events] == [
        f"Stranger Things S02E{number:02d} · Chapter {number}" for number in range(1, 4)
    ]


def test_only_same_show_same_season_same_instant_is_a_drop() -> None:
    other_show = drop([1, 2], of=show(trakt_id=10, title="Other"))
    other_season = drop([1, 2], season=3)
    later = [
        replace(entry, first_aired=DROP_AIRED + timedelta(hours=1), trakt_id=entry.trakt_id + 50)
        for entry in drop([3])
    ]
    summaries = sorted(
        text(event, "SUMMARY") or ""
        for event in vevents(feed(drop([1, 2]) + other_show + other_season + later))
    )
    assert summaries == [
        "Other S02E01–E02",
        "Stranger Things S02E01–E02",
        "Stranger Things S02E03 · Chapter 3",
        "Stranger Things S03E01–E02",
    ]


def test_a_drop_takes_the_first_label_and_collects_all_categories() -> None:
    episodes = drop(range(1, 4))
    episodes[0] = replace(episodes[0], episode_type="season_premiere")
    episodes[2] = replace(episodes[2], episode_type="season_finale")
    event = only(feed(episodes))
    assert text(event, "SUMMARY") == "Season premiere: Stranger Things S02E01–E03"
    assert list(event.categories) == ["TV", "Season premiere", "Season finale"]


# --- movies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "summary", "category"),
    [
        ("theatrical", "Dune (2026)", "Theatrical release"),
        ("digital", "Dune (2026) · Digital release", "Digital release"),
        ("dvd", "Dune (2026) · DVD release", "DVD release"),
    ],
)
def test_movie_release_is_an_all_day_event_per_kind(kind: ReleaseKind, summary: str, category: str) -> None:
    data = feed([release(trakt_id=5, kind=kind, day=date(2026, 12, 31), title="Dune", year=2026)])
    event = only(data)
    assert text(event, "SUMMARY") == summary
    assert list(event.categories) == ["Movie", category]
    assert event.start == date(2026, 12, 31) and event.end == date(2027, 1, 1)
    assert b"DTSTART;VALUE=DATE:20261231\r\nDTEND;VALUE=DATE:20270101\r\n" in data


def test_movie_without_year_and_with_overview_and_poster() -> None:
    data = feed(
        [release(trakt_id=5, title="Untitled Project", slug="untitled-project", overview="Secret.")],
        posters={("movie", 5): POSTER},
    )
    event = only(data)
    assert text(event, "SUMMARY") == "Untitled Project"
    assert text(event, "DESCRIPTION") == (
        f"Secret.\n\nTrakt: https://trakt.tv/movies/untitled-project\n\nPoster: {POSTER}"
    )
    assert event.get("LOCATION") is None


def test_each_release_kind_of_one_movie_is_its_own_event() -> None:
    events = vevents(feed([release(5, "theatrical"), release(5, "digital"), release(5, "dvd")]))
    assert sorted(str(event["UID"]) for event in events) == [
        "movie-5-digital-7@airdate",
        "movie-5-dvd-7@airdate",
        "movie-5-theatrical-7@airdate",
    ]


# --- all-day episodes, notices, alarms ---------------------------------------------------------------


def test_all_day_episode_uses_the_date_in_the_feed_zone_and_says_when_it_airs() -> None:
    entry = episode(aired=datetime(2026, 7, 10, 1, 0, tzinfo=UTC), runtime=30)
    event = only(feed([entry], all_day_episodes=True, tz=ZoneInfo("America/New_York")))
    assert event.start == date(2026, 7, 9) and event.end == date(2026, 7, 10)
    assert (text(event, "DESCRIPTION") or "").startswith("Airs at 21:00 (America/New_York)\n\n")


def test_notice_is_an_all_day_event_with_a_stable_uid() -> None:
    notice = Notice(
        "reconnect-trakt",
        date(2026, 3, 2),
        "Reconnect Trakt",
        "Your Trakt sign-in expired.",
        "https://airdate.example/dashboard",
    )
    event = only(feed([], notices=[notice]))
    assert str(event["UID"]) == "notice-reconnect-trakt-7@airdate"
    assert text(event, "SUMMARY") == "Reconnect Trakt"
    assert text(event, "DESCRIPTION") == "Your Trakt sign-in expired.\n\nhttps://airdate.example/dashboard"
    assert text(event, "URL") == "https://airdate.example/dashboard"
    assert event.start == date(2026, 3, 2) and event.end == date(2026, 3, 3)
    assert event.subcomponents == []


def test_alarm_is_a_display_alarm_before_the_start() -> None:
    data = feed([episode(title="Pilot"), release()], alarm_minutes=30)
    for event in vevents(data):
        (alarm,) = event.subcomponents
        assert text(alarm, "ACTION") == "DISPLAY"
        assert isinstance(alarm, icalendar.Alarm)
        trigger = alarm.TRIGGER
        assert trigger == timedelta(minutes=-30)
        assert text(alarm, "DESCRIPTION") == text(event, "SUMMARY")
    assert data.count(b"TRIGGER:-PT30M\r\n") == 2


def test_no_alarm_unless_asked() -> None:
    assert b"VALARM" not in feed([episode(), release()])


# --- identity and revisions --------------------------------------------------------------------------


def test_uids_follow_the_scheme_and_include_the_feed() -> None:
    entries: list[Entry] = [episode(trakt_id=100), *drop([1, 2]), release(trakt_id=5, kind="dvd")]
    notice = Notice("hello", date(2026, 3, 1), "Hi", "There")
    uids = {event.uid for event in build_events(entries, {}, options(feed_id=3), [notice])}
    assert uids == {
        "episode-100-3@airdate",
        "drop-9-2-20260320T070000Z-3@airdate",
        "movie-5-dvd-3@airdate",
        "notice-hello-3@airdate",
    }


def test_uids_do_not_depend_on_titles_or_other_content() -> None:
    before = build_events([episode(title="A", of=show(title="X"))], {}, options())
    after = build_events([episode(title="B", of=show(title="Y"), runtime=5)], {}, options())
    assert [event.uid for event in before] == [event.uid for event in after]
    assert before[0].fingerprint != after[0].fingerprint


def test_notice_keys_cannot_inject_text_into_the_uid() -> None:
    (event,) = build_events([], {}, options(), [Notice("a,b;c\\d e", date(2026, 3, 1), "Hi", "There")])
    assert event.uid == "notice-a%2Cb%3Bc%5Cd%20e-7@airdate"


def test_distinct_notice_keys_give_distinct_uids_even_when_empty() -> None:
    day = date(2026, 3, 1)
    notices = [Notice(key, day, "Hi", "There") for key in ("", "0", "%30")]
    assert len({event.uid for event in build_events([], {}, options(), notices)}) == 3


def test_fingerprint_is_stable_and_ignores_what_is_not_rendered() -> None:
    entry = episode(title="Pilot", updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    first = build_events([entry], {}, options())
    again = build_events([replace(entry, updated_at=datetime(2026, 2, 1, tzinfo=UTC))], {}, options())
    assert first == again


@pytest.mark.parametrize(
    "change",
    [
        {"entry": {"title": "Another title"}},
        {"entry": {"overview": "Now with an overview"}},
        {"entry": {"runtime": 25}},
        {"entry": {"first_aired": datetime(2026, 3, 11, 1, 0, tzinfo=UTC)}},
        {"entry": {"episode_type": "season_finale"}},
        {"entry": {"show": show(network="HBO")}},
        {"posters": {("show", 1): POSTER}},
        {"options": {"alarm_minutes": 15}},
        {"options": {"all_day_episodes": True}},
    ],
)
def test_fingerprint_changes_when_rendered_content_changes(change: dict[str, dict[Any, Any]]) -> None:
    entry = episode(title="Pilot")
    (base,) = build_events([entry], {}, options())
    (changed,) = build_events(
        [replace(entry, **change.get("entry", {}))],
        change.get("posters", {}),
        options(**change.get("options", {})),
    )
    assert base.uid == changed.uid
    assert base.fingerprint != changed.fingerprint


def test_dtstamp_and_last_modified_are_the_revision_time_and_sequence_is_the_revision() -> None:
    events = build_events([episode(), release()], {}, options())
    when = datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=ZoneInfo("Europe/Berlin"))
    data = render(CALENDAR, events, revisions_for(events, sequence=4, modified=when))
    for event in vevents(data):
        assert event.DTSTAMP == event.LAST_MODIFIED == datetime(2026, 2, 3, 3, 5, 6, tzinfo=UTC)
        assert event.sequence == 4
    assert data.count(b"DTSTAMP:20260203T030506Z\r\n") == 2


def test_a_missing_revision_is_a_caller_bug() -> None:
    events = build_events([episode()], {}, options())
    with pytest.raises(KeyError):
        render(CALENDAR, events, {})


def test_a_naive_revision_time_is_refused() -> None:
    events = build_events([episode(trakt_id=4242)], {}, options())
    with pytest.raises(ValueError, match="naive"):
        render(CALENDAR, events, {events[0].uid: Revision(0, datetime(2026, 1, 1))})


def test_two_events_with_one_uid_are_refused() -> None:
    (event,) = build_events([episode()], {}, options())
    with pytest.raises(ValueError, match="UID"):
        render(
            CALENDAR,
            [event, replace(event, content=replace(event.content, summary="twin"))],
            revisions_for([event]),
        )


def test_a_new_revision_renders_new_bytes_for_the_same_event() -> None:
    events = build_events([episode()], {}, options())
    first = render(CALENDAR, events, revisions_for(events, sequence=0))
    second = render(
        CALENDAR, events, revisions_for(events, sequence=1, modified=MODIFIED + timedelta(hours=1))
    )
    assert b"SEQUENCE:0\r\n" in first and b"SEQUENCE:1\r\n" in second
    assert b"LAST-MODIFIED:20260301T130005Z\r\n" in second


# --- the file as a whole -----------------------------------------------------------------------------


def test_same_data_renders_the_same_bytes_whatever_the_entry_order() -> None:
    entries: list[Entry] = [episode(trakt_id=1), *drop([1, 2, 3]), release(5), release(6, "digital")]
    assert feed(entries) == feed(list(reversed(entries)))


def test_duplicate_entries_from_several_sources_become_one_event() -> None:
    entry = episode(trakt_id=100, title="Pilot")
    movie = release(5, "digital")
    events = build_events([entry, movie, entry, replace(movie), entry], {}, options())
    assert [event.uid for event in events] == ["episode-100-7@airdate", "movie-5-digital-7@airdate"]


def test_of_two_copies_the_more_recently_updated_wins() -> None:
    old = episode(trakt_id=100, title="Old", updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    new = replace(old, title="New", updated_at=datetime(2026, 2, 1, tzinfo=UTC))
    for entries in ([old, new], [new, old]):
        (event,) = build_events(entries, {}, options())
        assert event.content.summary == "The Show S01E05 · New"


def test_events_are_sorted_by_start_then_uid() -> None:
    morning = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    entries: list[Entry] = [
        episode(trakt_id=3, of=show(3), aired=morning),
        episode(trakt_id=2, of=show(2), aired=morning),
        release(5, day=date(2026, 3, 12)),
        episode(trakt_id=1, of=show(1), aired=morning + timedelta(days=1)),
    ]
    uids = [str(event["UID"]) for event in vevents(feed(entries))]
    assert uids == [
        "movie-5-theatrical-7@airdate",
        "episode-2-7@airdate",
        "episode-3-7@airdate",
        "episode-1-7@airdate",
    ]


def test_calendar_properties() -> None:
    data = feed([])
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == f"-//Airdate//Airdate {__version__}//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == "Trakt · Shows — alice"
    assert str(calendar["DESCRIPTION"]) == "Episodes from Trakt, for alice"
    assert b"\r\nX-WR-CALDESC:Episodes from Trakt\\, for alice\r\n" in data  # icalendar keeps X- raw
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nX-PUBLISHED-TTL:PT1H\r\n" in data
    assert b"METHOD" not in data
    assert lint(data) == []


def test_refresh_interval_follows_the_calendar_info() -> None:
    events: list[Event] = []
    data = render(replace(CALENDAR, refresh=timedelta(hours=6)), events, {})
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT6H\r\nX-PUBLISHED-TTL:PT6H\r\n" in data


def test_text_is_escaped_folded_by_octets_and_lines_end_in_crlf() -> None:
    title = "Ünïcødé, semi; back\\slash 😀 東京 שלום " * 4
    data = feed([episode(of=show(title=title), title="a,b;c", overview="line one\nline two " * 40)])
    assert lint(data) == []
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    event = only(data)
    assert text(event, "SUMMARY") == f"{title.strip()} S01E05 · a,b;c"
    assert (text(event, "DESCRIPTION") or "").startswith("line one\nline two line one")


def test_control_characters_and_odd_line_breaks_are_cleaned() -> None:
    entry = episode(
        of=show(title="Bad\x00Show\x1b", network="Net\u2028work"),
        title="Line\r\nbreak",
        overview="one\r\ntwo\rthree\u2029four\x85five\x07",
    )
    event = only(feed([entry]))
    assert text(event, "SUMMARY") == "BadShow S01E05 · Line break"
    assert text(event, "LOCATION") == "Net work"
    assert (text(event, "DESCRIPTION") or "").startswith("one\ntwo\nthree\nfour\nfive\n\n")


def test_unchanged_events_are_served_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    serialized: list[str] = []
    real = frame.serialize

    def counting(event: Event, revision: Revision) -> bytes:
        serialized.append(event.uid)
        return real(event, revision)

    monkeypatch.setattr(frame, "serialize", counting)
    entries = [episode(trakt_id=900 + n, aired=datetime(2031, 1, 1, tzinfo=UTC), number=n) for n in range(5)]
    events = build_events(entries, {}, options(feed_id=31337, group_drops=False))
    revisions = revisions_for(events)
    first = render(CALENDAR, events, revisions)
    assert len(serialized) == 5
    assert render(CALENDAR, events, revisions) == first
    assert len(serialized) == 5
    bumped = {**revisions, events[0].uid: Revision(1, MODIFIED + timedelta(days=1))}
    render(CALENDAR, events, bumped)
    assert serialized[5:] == [events[0].uid]


# --- the size budget ---------------------------------------------------------------------------------


def _budgeted(budget: int) -> tuple[list[Event], int]:
    """Ten overview-heavy episodes built under `budget`, and the octets their events render to."""
    overview = "Words and more words, " * 100  # 2,200 characters
    entries = [
        episode(
            trakt_id=n,
            of=show(trakt_id=n, network="HBO"),
            aired=datetime(2026, 3, n, tzinfo=UTC),
            overview=overview,
        )
        for n in range(1, 11)
    ]
    posters: dict[PosterKey, str] = {("show", n): POSTER for n in range(1, 11)}
    events = build_events(entries, posters, options(byte_budget=budget))
    empty: list[Event] = []
    frame = len(render(CALENDAR, empty, {}))
    return events, len(render(CALENDAR, events, revisions_for(events))) - frame


def test_a_feed_over_its_byte_budget_sheds_detail_but_never_events() -> None:
    full, full_size = _budgeted(10**9)
    assert all(event.content.description.startswith("Words and more words, ") for event in full)
    sizes = []
    for budget in range(full_size, -1, -full_size // 40):
        events, size = _budgeted(budget)
        assert [(e.uid, e.content.summary, e.content.start, e.content.url) for e in events] == [
            (e.uid, e.content.summary, e.content.start, e.content.url) for e in full
        ]
        bare = all(
            not e.content.description and e.content.image is None and e.content.attach is None for e in events
        )
        assert size <= budget * 1.02 or bare  # the estimate is within a few percent; bare is the floor
        sizes.append(size)
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == full_size
    assert bare


def test_overviews_are_cut_at_a_word_boundary_first() -> None:
    full, full_size = _budgeted(10**9)
    events, _ = _budgeted(full_size - 1)
    original = full[0].content.description.split("\n\n")[0]
    for event in events:
        cut, ellipsis = (
            event.content.description.split("\n\n")[0][:-1],
            event.content.description.split("\n\n")[0][-1],
        )
        assert ellipsis == "…" and len(cut.encode()) < 600
        assert original.startswith(cut) and original[len(cut)] == " "
        assert (
            event.content.image == event.content.attach == POSTER
            and f"Poster: {POSTER}" in event.content.description
        )


@pytest.mark.parametrize(
    ("overview", "kept"),
    [
        ("word " * 1000, "word " * 798 + "word…"),  # 5,000 octets: 3,997 + "…", minus the partial word
        ("東" * 1500, "東" * 1332 + "…"),  # 4,500 octets, no spaces: cut between characters
        ("A " + "🎉" * 1200, "A " + "🎉" * 998 + "…"),  # one early space must not cost the rest
        ("é" * 2000, "é" * 2000),  # exactly 4,000 octets: kept whole
    ],
)
def test_overviews_beyond_four_kilobytes_are_cut_even_within_budget(overview: str, kept: str) -> None:
    (event,) = build_events([episode(overview=overview)], {}, options())
    assert event.content.description.split("\n\n")[0] == kept.strip()


def test_numeric_titles_are_real_titles() -> None:
    event = only(feed([episode(of=show(title="Mad Men"), number=4, title="1984")]))
    assert text(event, "SUMMARY") == "Mad Men S01E04 · 1984"


def test_a_zero_or_negative_runtime_falls_back_so_the_event_never_ends_before_it_starts() -> None:
    event = only(feed([episode(of=show(runtime=-5), runtime=0)]))
    assert event.end - event.start == timedelta(hours=1)


def test_blank_calendar_text_never_produces_empty_properties() -> None:
    empty: list[Event] = []
    data = render(CalendarInfo(name=" \n ", description="\r\n"), empty, {})
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == "Airdate"
    assert b"DESCRIPTION" not in data and b"X-WR-CALDESC" not in data
    assert lint(data) == []


def test_an_all_day_episode_alarm_fires_before_the_local_air_time() -> None:
    entry = episode(aired=datetime(2026, 7, 10, 1, 0, tzinfo=UTC))  # 21:00 on the 9th in New York
    data = feed([entry], all_day_episodes=True, alarm_minutes=30, tz=ZoneInfo("America/New_York"))
    (alarm,) = only(data).subcomponents
    assert isinstance(alarm, icalendar.Alarm)
    trigger = alarm.TRIGGER
    assert trigger == datetime(2026, 7, 10, 0, 30, tzinfo=UTC)  # absolute: 30 min before 01:00Z
    assert b"TRIGGER;VALUE=DATE-TIME:20260710T003000Z\r\n" in data


# --- docs/events.md ----------------------------------------------------------------------------------


def test_the_samples_in_docs_events_are_what_the_code_renders() -> None:
    """The page promises real output; re-render its four samples and compare them line by line."""
    severance = show(1, "Severance", slug="severance", network="Apple TV+", runtime=50)
    finale = episode(
        11,
        of=severance,
        season=2,
        number=10,
        aired=datetime(2026, 3, 21, 1, 0, tzinfo=UTC),
        title="Cold Harbor",
        runtime=54,
        overview="Mark's outie and innie reach a decision; Helly, Dylan and Irving face the consequences.",
        episode_type="season_finale",
    )
    signal = show(2, "Deep Signal", slug="deep-signal", network="Netflix", runtime=55)
    drop_entries = [
        episode(
            200 + number,
            of=signal,
            season=2,
            number=number,
            aired=datetime(2026, 12, 4, 8, 0, tzinfo=UTC),
            title=title,
            runtime=runtime,
            episode_type="season_premiere" if number == 1 else "standard",
        )
        for number, title, runtime in [(1, "The Echo", 58), (2, "Relay", 51), (3, "Episode 3", 49)]
    ]
    heat = release(
        5,
        "digital",
        date(2026, 12, 28),
        title='Heat: "Redux"',
        year=2026,
        slug="heat-redux-2026",
        overview="A heist, re-cut.",
    )
    posters: dict[PosterKey, str] = {
        ("show", 1): "https://image.tmdb.org/t/p/w500/poster-severance.jpg",
        ("movie", 5): "https://image.tmdb.org/t/p/w500/poster-heat.jpg",
    }
    calendar = CalendarInfo("Trakt · Shows — alice", "Episodes and movies from Trakt for alice")

    def sample(entries: Sequence[Entry], **fields: Any) -> str:
        chosen = options(**{"feed_id": 3, "tz": ZoneInfo("Europe/Berlin"), **fields})
        events = build_events(entries, posters, chosen)
        modified = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
        return render(calendar, events, revisions_for(events, 2, modified)).decode().replace("\r\n", "\n")

    def vevent_of(text: str) -> str:
        return "BEGIN:VEVENT" + text.split("BEGIN:VEVENT")[1].split("END:VCALENDAR")[0].rstrip("\n")

    page = (Path(__file__).parent.parent / "docs" / "events.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0].strip("\n") for block in page.split("```\n")[1::2]]
    assert blocks == [
        sample([finale]).rstrip("\n"),
        vevent_of(sample(drop_entries)),
        vevent_of(sample([heat])),
        vevent_of(sample([finale], all_day_episodes=True, alarm_minutes=30, tz=ZoneInfo("America/New_York"))),
    ]
