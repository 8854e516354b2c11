"""Property tests: arbitrary Trakt-like entries always give a clean file every real parser reads back.

Text comes from the whole of Unicode except surrogates (which UTF-8 cannot carry), so control
characters, CR/LF mixes, Unicode line separators, combining marks, emoji and RTL all show up; the
generator must clean what it must and round-trip the rest. The subprocess parsers (ical.js, libical,
calcurse) cost a process per example, so they run on fewer examples than the in-process ones.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.entries import Entry, Episode, Movie, Release, Show
from app.feeds.ics import Notice, PosterKey, RenderOptions, build_events, render
from tests.support.ics import CALENDAR, POSTER, assert_conforms, revisions_for

IN_PROCESS = ("icalendar", "vobject", "ical", "recurring_ical_events")
SUBPROCESS = ("icaljs", "libical", "calcurse")
ZONES = (
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Pacific/Auckland",
)

unicode = st.characters(exclude_categories=["Cs"])
anything = st.text(unicode, max_size=60)
some_text = st.one_of(st.none(), anything)
slugs = st.one_of(st.none(), st.from_regex(r"[a-z0-9]+(-[a-z0-9]+){0,3}", fullmatch=True))
runtimes = st.one_of(st.none(), st.integers(1, 400))
days = st.dates(date(2000, 1, 1), date(2037, 12, 30))


@dataclass(frozen=True)
class Case:
    """One generated feed: its entries (unique items), notices, posters and options."""

    entries: list[Entry]
    notices: list[Notice]
    posters: dict[PosterKey, str]
    options: RenderOptions


@st.composite
def cases(draw: st.DrawFn) -> Case:
    shows = draw(
        st.lists(
            st.builds(
                Show,
                trakt_id=st.integers(1, 10**6),
                title=anything,
                slug=slugs,
                network=some_text,
                runtime=runtimes,
            ),
            min_size=1,
            max_size=4,
            unique_by=lambda show: show.trakt_id,
        )
    )
    # a few shared instants so binge drops actually happen; whole minutes as Trakt gives them (and
    # calcurse keeps), but with stray microseconds, which must neither split a drop nor reach the file
    instants = draw(
        st.lists(
            st.datetimes(datetime(2000, 1, 1), datetime(2037, 12, 30), timezones=st.just(UTC)).map(
                lambda instant: instant.replace(second=0)
            ),
            min_size=1,
            max_size=3,
        )
    )
    episodes = draw(
        st.lists(
            st.builds(
                Episode,
                trakt_id=st.integers(1, 10**7),
                show=st.sampled_from(shows),
                season=st.integers(0, 3),
                number=st.integers(1, 120),
                first_aired=st.sampled_from(instants),
                title=some_text,
                runtime=runtimes,
                overview=st.one_of(st.none(), st.text(unicode, max_size=400)),
                episode_type=st.sampled_from(
                    ["standard", "season_premiere", "series_finale", "mid_season_finale"]
                ),
            ),
            max_size=10,
            unique_by=lambda episode: episode.trakt_id,
        )
    )
    releases = draw(
        st.lists(
            st.builds(
                Release,
                movie=st.builds(
                    Movie,
                    trakt_id=st.integers(1, 10**6),
                    title=anything,
                    slug=slugs,
                    year=st.one_of(st.none(), st.integers(1900, 2040)),
                    overview=some_text,
                ),
                date=days,
                kind=st.sampled_from(["theatrical", "digital", "dvd"]),
            ),
            max_size=5,
            unique_by=lambda release: (release.movie.trakt_id, release.kind),
        )
    )
    notices = draw(
        st.lists(
            st.builds(
                Notice,
                key=anything,
                day=days,
                summary=anything,
                description=anything,
                url=st.sampled_from([None, "https://airdate.example/dashboard"]),
            ),
            max_size=2,
            unique_by=lambda notice: notice.key,
        )
    )
    ids: list[PosterKey] = [("show", show.trakt_id) for show in shows]
    ids += [("movie", release.movie.trakt_id) for release in releases]
    posters = {key: POSTER for key in draw(st.lists(st.sampled_from(ids), unique=True)) if ids} if ids else {}
    options = RenderOptions(
        feed_id=draw(st.integers(1, 10**6)),
        tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        all_day_episodes=draw(st.booleans()),
        alarm_minutes=draw(st.one_of(st.none(), st.integers(0, 10080))),
        group_drops=draw(st.booleans()),
    )
    return Case([*episodes, *releases], notices, posters, options)


def _visible(text: str) -> str:
    """What must survive of a text: everything but whitespace and control/line-break characters."""
    return "".join(
        char for char in text if not char.isspace() and unicodedata.category(char) not in ("Cc", "Zl", "Zp")
    )


def _item(case: Case, entry: Entry) -> tuple[object, ...]:
    """Which event an entry belongs to, worked out without the generator's code."""
    if isinstance(entry, Release):
        return ("movie", entry.movie.trakt_id, entry.kind)
    if case.options.group_drops:
        return ("airing", entry.show.trakt_id, entry.season, entry.first_aired.replace(microsecond=0))
    return ("episode", entry.trakt_id)


def _render(case: Case, entries: Sequence[Entry]) -> bytes:
    events = build_events(entries, case.posters, case.options, case.notices)
    return render(CALENDAR, events, revisions_for(events))


def _check(case: Case, parsers: Sequence[str]) -> None:
    events = build_events(case.entries, case.posters, case.options, case.notices)
    revisions = revisions_for(events)
    data = render(CALENDAR, events, revisions)
    assert_conforms(data, events, revisions, parsers)

    items = Counter(_item(case, entry) for entry in case.entries)
    assert len({event.uid for event in events}) == len(events) == len(items) + len(case.notices)
    summaries = _visible(" ".join(event.content.summary for event in events))
    descriptions = _visible(" ".join(event.content.description for event in events))
    for entry in case.entries:
        title = entry.movie.title if isinstance(entry, Release) else entry.show.title
        assert _visible(title) in summaries
        overview = entry.movie.overview if isinstance(entry, Release) else entry.overview
        if items[_item(case, entry)] == 1:  # a drop lists its episodes, not their overviews
            assert _visible(overview or "") in descriptions


@settings(max_examples=50, deadline=None)
@given(cases())
def test_any_entries_render_a_clean_file_the_python_parsers_read_back(case: Case) -> None:
    _check(case, IN_PROCESS)


@settings(max_examples=12, deadline=None)
@given(cases())
def test_any_entries_render_a_file_icaljs_libical_and_calcurse_read_back(case: Case) -> None:
    _check(case, SUBPROCESS)


@settings(max_examples=50, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_uids_and_bytes_do_not_depend_on_order_or_duplicates(case: Case, shuffler: random.Random) -> None:
    shuffled = [*case.entries, *case.entries[: len(case.entries) // 2]]
    shuffler.shuffle(shuffled)
    assert _render(case, shuffled) == _render(case, case.entries)


@settings(max_examples=50, deadline=None)
@given(cases(), st.integers(1, 10**6))
def test_another_feed_never_shares_a_uid(case: Case, other_feed: int) -> None:
    events = build_events(case.entries, case.posters, case.options, case.notices)
    other = RenderOptions(case.options.feed_id + other_feed, case.options.tz)
    assert not {event.uid for event in events} & {
        event.uid for event in build_events(case.entries, case.posters, other, case.notices)
    }
    for event in events:
        if isinstance(event.content.start, datetime):
            assert isinstance(event.content.end, datetime) and event.content.end > event.content.start
        else:  # all-day: one day, DTEND exclusive
            assert not isinstance(
                event.content.end, datetime
            ) and event.content.end == event.content.start + timedelta(days=1)
