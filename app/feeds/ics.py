"""Calendar entries + feed options -> iCalendar bytes, the part a person actually sees in their calendar app.

Pure on purpose: no I/O, no clock, no database. Everything that varies (entries, posters, options, the
revision history of each event) comes in as arguments, so the same inputs always give the same bytes
and the feed's ETag can simply be a hash of the body.

Two steps, because the caller sits between them: `build_events` turns entries into `Event` values with
a content `fingerprint`; the caller compares fingerprints with what it stored, bumps SEQUENCE and
LAST-MODIFIED for the events that changed (clients, Google above all, ignore content changes without
that), then `render` serializes.

Serialization uses the `icalendar` library (7.x folds at 75 octets on UTF-8 boundaries, escapes TEXT
and list-valued CATEGORIES correctly, and writes `REFRESH-INTERVAL;VALUE=DURATION`); only the cleaning
of text it would let through or refuse (control characters, raw CR, Unicode line separators) is ours.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from icalendar import Alarm as _IcsAlarm
from icalendar import Calendar as _IcsCalendar
from icalendar import Event as _IcsEvent
from icalendar import vDuration, vText

from app import __version__
from app.domain.entries import Entry, Episode, Release, ReleaseKind, Show
from app.domain.posterkey import PosterKey as PosterKey
from app.domain.posterkey import poster_key

PRODID = f"-//Airdate//Airdate {__version__}//EN"
DEFAULT_RUNTIME = timedelta(minutes=60)
TRAKT = "https://trakt.tv"
# Google Calendar is reported to drop events from feeds above ~1 MB; stay clearly below it.
BYTE_BUDGET = 800_000
# calcurse silently truncates content lines beyond its 8 KiB buffer, and no calendar app shows
# more than a few KB of prose usefully; longer overviews are cut (at a word, marked with …).
OVERVIEW_OCTETS = 4000

# Bumped whenever the serialized shape of an event changes (a new property, a new wording), so every
# stored fingerprint differs once and clients receive the new shape with a higher SEQUENCE.
_FORMAT = "airdate-event-1"

EPISODE_LABELS: Mapping[str, str] = {
    "series_premiere": "Series premiere",
    "season_premiere": "Season premiere",
    "mid_season_premiere": "Mid-season premiere",
    "mid_season_finale": "Mid-season finale",
    "season_finale": "Season finale",
    "series_finale": "Series finale",
}
RELEASE_LABELS: Mapping[ReleaseKind, str] = {
    "theatrical": "Theatrical release",
    "digital": "Digital release",
    "dvd": "DVD release",
}
TV_CATEGORY = "TV"
MOVIE_CATEGORY = "Movie"
NOTICE_CATEGORY = "Airdate"

# Trakt fills unknown episode titles with these; showing "Episode 5" after "S01E05" is noise.
_PLACEHOLDER_TITLE = re.compile(
    r"(?:episode|ep\.?)\s*#?\s*\d+(?:\.\d+)?|tba|tbd|to be announced|untitled|n/?a",
    re.IGNORECASE,
)
# Characters a TEXT value may not carry (RFC 5545 §3.3.11 excludes CTLs but HTAB) plus the Unicode
# line breaks that Python's `str.splitlines` based parsers would split a content line on.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!#-~]+")


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """Calendar-level text; each value is written in both the RFC 7986 and the X-WR form clients read."""

    name: str
    description: str
    refresh: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What a feed's owner chose; `feed_id` is in every UID so two feeds in one account never collide."""

    feed_id: int
    tz: ZoneInfo
    all_day_episodes: bool = False
    alarm_minutes: int | None = None
    group_drops: bool = True
    byte_budget: int = BYTE_BUDGET


@dataclass(frozen=True, slots=True)
class Notice:
    """A service message shown as an all-day event, e.g. "reconnect Trakt"; `key` keeps its UID stable."""

    key: str
    day: date
    summary: str
    description: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Revision:
    """The caller's record of an event's SEQUENCE and when its content last changed (aware UTC)."""

    sequence: int
    modified: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One VEVENT, built but not serialized.

    `start`/`end` are aware UTC datetimes for timed events and dates (end exclusive) for all-day ones.
    `order` is the instant the event sorts by, so timed and all-day events interleave correctly.
    `alarm` is the VALARM trigger: a duration relative to the start (negative = before it), an
    absolute aware-UTC instant (all-day episodes, see `_Builder._alarm`), or None for none.
    `fingerprint` covers every serialized property except the revision ones.
    """

    uid: str
    fingerprint: str
    order: datetime
    start: datetime | date
    end: datetime | date
    summary: str
    description: str
    location: str | None
    url: str | None
    categories: tuple[str, ...]
    image: str | None
    attach: str | None
    alarm: timedelta | datetime | None


@dataclass(frozen=True, slots=True)
class _Detail:
    """How much text each event of a feed can afford."""

    overview_octets: int  # UTF-8 octets of an overview kept; 0 leaves overviews out
    copies: bool  # poster and network lines in DESCRIPTION, ATTACH beside IMAGE
    image: bool  # the RFC 7986 IMAGE, which few clients show
    description: bool  # DESCRIPTION at all; its Trakt link is also the URL property


# Most expendable first: long overviews, then all overviews, then what other properties already
# carry or few clients show. Coarse steps on purpose: a step changes every event (a SEQUENCE bump
# for all), so the level must not move each time the window gains or loses an episode.
_DETAIL_LEVELS = (
    _Detail(OVERVIEW_OCTETS, copies=True, image=True, description=True),
    _Detail(600, copies=True, image=True, description=True),
    _Detail(0, copies=True, image=True, description=True),
    _Detail(0, copies=False, image=False, description=True),
    _Detail(0, copies=False, image=False, description=False),
)


def build_events(
    entries: Iterable[Entry],
    posters: Mapping[PosterKey, str],
    options: RenderOptions,
    notices: Iterable[Notice] = (),
) -> list[Event]:
    """Entries (from any mix of sources, duplicates allowed) -> one event per item, sorted by start, UID.

    A feed whose estimated size exceeds `options.byte_budget` is rebuilt with less detail per event
    (see `_DETAIL_LEVELS`) until it fits; every event keeps its date, title, UID and Trakt link.
    """
    episodes: dict[int, Episode] = {}
    releases: dict[tuple[int, ReleaseKind], Release] = {}
    for entry in entries:
        if isinstance(entry, Episode):
            episodes[entry.trakt_id] = _newer(episodes.get(entry.trakt_id), entry)
        else:
            key = (entry.movie.trakt_id, entry.kind)
            releases[key] = _newer(releases.get(key), entry)
    airings = _airings(episodes.values(), options.group_drops)
    notices = tuple(notices)

    for detail in _DETAIL_LEVELS:
        builder = _Builder(posters, options, detail)
        events = [builder.release(release) for release in releases.values()]
        events.extend(
            builder.episode(group[0]) if len(group) == 1 else builder.drop(group) for group in airings
        )
        events.extend(builder.notice(notice) for notice in notices)
        by_uid = {event.uid: event for event in events}
        if _estimated_size(by_uid.values()) <= options.byte_budget:
            break
    return sorted(by_uid.values(), key=lambda event: (event.order, event.uid))


_Item = TypeVar("_Item", Episode, Release)


def _newer(current: _Item | None, candidate: _Item) -> _Item:
    """Which copy of a duplicate to keep: the more recently updated one, else the first seen."""
    if current is None:
        return candidate
    current_at = _updated_at(current)
    candidate_at = _updated_at(candidate)
    if candidate_at is not None and (current_at is None or candidate_at > current_at):
        return candidate
    return current


def _updated_at(entry: Entry) -> datetime | None:
    return entry.updated_at if isinstance(entry, Episode) else entry.movie.updated_at


def _airings(episodes: Iterable[Episode], group_drops: bool) -> list[list[Episode]]:
    """Episodes of one show and season released at one instant form a drop (a binge release)."""
    if not group_drops:
        return [[episode] for episode in episodes]

    def key(episode: Episode) -> tuple[int, int, datetime]:
        return (episode.show.trakt_id, episode.season, _aired(episode))

    ordered = sorted(episodes, key=lambda episode: (*key(episode), episode.number, episode.trakt_id))
    return [list(group) for _, group in groupby(ordered, key=key)]


class _Builder:
    """Turns one item into one `Event`; holds what every event of one feed shares."""

    def __init__(self, posters: Mapping[PosterKey, str], options: RenderOptions, detail: _Detail) -> None:
        self._posters = posters
        self._options = options
        self._detail = detail
        self._suffix = f"-{options.feed_id}@airdate"

    def episode(self, episode: Episode) -> Event:
        show = episode.show
        label = EPISODE_LABELS.get(episode.episode_type)
        summary = _labelled(label, f"{_show_title(show)} {_code(episode)}{_title_part(episode.title)}")
        url = f"{_show_url(show)}/seasons/{episode.season}/episodes/{episode.number}"
        return self._airing(
            uid=f"episode-{episode.trakt_id}",
            show=show,
            aired=_aired(episode),
            runtime=_runtime(episode),
            summary=summary,
            body=[self._overview(episode.overview)],
            url=url,
            labels=[label],
        )

    def drop(self, episodes: list[Episode]) -> Event:
        first = episodes[0]
        show = first.show
        labels = [EPISODE_LABELS.get(episode.episode_type) for episode in episodes]
        label = next((found for found in labels if found), None)
        listing = "\n".join(f"{_code(episode)}{_title_part(episode.title)}" for episode in episodes)
        return self._airing(
            uid=f"drop-{show.trakt_id}-{first.season}-{_aired(first):%Y%m%dT%H%M%SZ}",
            show=show,
            aired=_aired(first),
            runtime=max(_runtime(episode) for episode in episodes),
            summary=_labelled(label, f"{_show_title(show)} {_drop_code(episodes)}"),
            body=[f"{len(episodes)} episodes released together:\n{listing}"],
            url=f"{_show_url(show)}/seasons/{first.season}",
            labels=labels,
        )

    def release(self, release: Release) -> Event:
        movie = release.movie
        title = (_line(movie.title) or "Untitled movie") + (f" ({movie.year})" if movie.year else "")
        kind_label = RELEASE_LABELS[release.kind]
        summary = title if release.kind == "theatrical" else f"{title} · {kind_label}"
        url = f"{TRAKT}/movies/{_path(movie.slug, movie.trakt_id)}"
        image = self._image(poster_key(movie))
        description = self._describe(
            self._overview(movie.overview), f"Trakt: {url}", self._poster_line(image)
        )
        day = release.date
        return _event(
            uid=f"movie-{movie.trakt_id}-{release.kind}{self._suffix}",
            order=self._midnight(day),
            start=day,
            end=day + timedelta(days=1),
            summary=summary,
            description=description,
            location=None,
            url=url,
            categories=(MOVIE_CATEGORY, kind_label),
            image=image,
            attach=image if self._detail.copies else None,
            alarm=self._alarm(),
        )

    def notice(self, notice: Notice) -> Event:
        url = _uri(notice.url)
        return _event(
            uid=f"notice-{quote(notice.key, safe='')}{self._suffix}",
            order=self._midnight(notice.day),
            start=notice.day,
            end=notice.day + timedelta(days=1),
            summary=_line(notice.summary) or "Airdate notice",
            description=_paragraphs(_text(notice.description), url),
            location=None,
            url=url,
            categories=(NOTICE_CATEGORY,),
            image=None,
            attach=None,
            alarm=None,
        )

    def _airing(
        self,
        *,
        uid: str,
        show: Show,
        aired: datetime,
        runtime: timedelta,
        summary: str,
        body: list[str | None],
        url: str,
        labels: list[str | None],
    ) -> Event:
        """What an episode and a drop share: timing, all-day mode, network, poster, links, categories."""
        network = _line(show.network or "") or None
        image = self._image(poster_key(show))
        start: datetime | date
        end: datetime | date
        if self._options.all_day_episodes:
            local = aired.astimezone(self._options.tz)
            start, end = local.date(), local.date() + timedelta(days=1)
            body = [f"Airs at {local:%H:%M} ({self._options.tz.key})", *body]
        else:
            start, end = aired, aired + runtime
        categories = [TV_CATEGORY]
        categories.extend(label for label in EPISODE_LABELS.values() if label in labels)
        return _event(
            uid=uid + self._suffix,
            order=aired,
            start=start,
            end=end,
            summary=summary,
            description=self._describe(
                *body,
                f"Network: {network}" if network and self._detail.copies else None,
                f"Trakt: {url}",
                self._poster_line(image),
            ),
            location=network,
            url=url,
            categories=tuple(categories),
            image=image,
            attach=image if self._detail.copies else None,
            alarm=self._alarm(aired if self._options.all_day_episodes else None),
        )

    def _alarm(self, all_day_airing: datetime | None = None) -> timedelta | datetime | None:
        """The VALARM trigger for "n minutes before it airs".

        Timed events and releases: `-PTnM` relative to DTSTART. A timed DTSTART is UTC, where no
        clock changes, so every reader gets exactly n minutes; a release has no time of day, so
        "before the day starts" (in the reader's zone, like the DATE itself) is what it means.

        All-day episodes: the absolute instant `air time - n minutes`, written as
        `TRIGGER;VALUE=DATE-TIME:...Z` (RFC 5545 §3.8.6.3), which every reader decodes to the same
        instant. A trigger relative to a DATE start counts from each reader's own midnight, so it
        fires an hour off whenever a clock change lies between midnight and the air time (03:15
        EDT on the spring-forward day is 2 h 15 min after midnight, not 3 h 15, and the wall-clock
        reading of "3:15 less 30 minutes" does not exist that night); Outlook's import
        (MS-OXCICAL) even reads a positive duration as minutes *before* the start. Thunderbird,
        libical-based apps and Android's ICSx5/DAVx5 honour absolute triggers (docs/events.md has
        the evidence). No instant exists before year 1, so an alarm that would fire there is left
        out.
        """
        minutes = self._options.alarm_minutes
        if minutes is None:
            return None
        before = timedelta(minutes=minutes)
        if all_day_airing is None:
            return -before
        try:
            return all_day_airing - before
        except OverflowError:
            return None

    def _overview(self, overview: str | None) -> str | None:
        """The overview, cut at a word boundary (marked with …) beyond the detail level's octets."""
        limit = self._detail.overview_octets
        text = _text(overview or "").strip()
        if not text or limit == 0:
            return None
        encoded = text.encode()
        if len(encoded) <= limit:
            return text
        head = encoded[: limit - len("…".encode())].decode(errors="ignore")
        words = head.rsplit(None, 1)
        if len(words) == 2 and len(words[1]) <= 40:  # drop a cut-off word, not a spaceless script
            head = words[0]
        return head.rstrip() + "…"

    def _image(self, key: PosterKey) -> str | None:
        return _uri(self._posters.get(key)) if self._detail.image else None

    def _poster_line(self, image: str | None) -> str | None:
        return f"Poster: {image}" if image and self._detail.copies else None

    def _describe(self, *parts: str | None) -> str:
        return _paragraphs(*parts) if self._detail.description else ""

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self._options.tz).astimezone(UTC)


def _event(
    *,
    uid: str,
    order: datetime,
    start: datetime | date,
    end: datetime | date,
    summary: str,
    description: str,
    location: str | None,
    url: str | None,
    categories: tuple[str, ...],
    image: str | None,
    attach: str | None,
    alarm: timedelta | datetime | None,
) -> Event:
    """The one place an `Event` is made, so its fingerprint always covers exactly what `render` writes."""
    content = (start, end, summary, description, location, url, categories, image, attach, alarm)
    fingerprint = hashlib.sha256(repr((_FORMAT, *content)).encode()).hexdigest()
    return Event(uid, fingerprint, order, *content)


def _runtime(episode: Episode) -> timedelta:
    """Episode runtime, else the show's, else an hour; never zero, since DTEND must follow DTSTART."""
    minutes = next((m for m in (episode.runtime, episode.show.runtime) if m and m > 0), None)
    return timedelta(minutes=minutes) if minutes else DEFAULT_RUNTIME


def _code(episode: Episode) -> str:
    return f"S{episode.season:02d}E{episode.number:02d}"


def _drop_code(episodes: list[Episode]) -> str:
    """`S02E01–E08` for a run of consecutive numbers; otherwise every number, so no episode is implied."""
    numbers = [episode.number for episode in episodes]
    season = f"S{episodes[0].season:02d}"
    if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{season}E{numbers[0]:02d}–E{numbers[-1]:02d}"
    return season + ", ".join(f"E{number:02d}" for number in numbers)


def _title_part(title: str | None) -> str:
    if not title:
        return ""
    clean = _line(title)
    return "" if not clean or _PLACEHOLDER_TITLE.fullmatch(clean) else f" · {clean}"


def _labelled(label: str | None, summary: str) -> str:
    return f"{label}: {summary}" if label else summary


def _show_title(show: Show) -> str:
    return _line(show.title) or "Untitled show"


def _show_url(show: Show) -> str:
    return f"{TRAKT}/shows/{_path(show.slug, show.trakt_id)}"


def _path(slug: str | None, fallback: int) -> str:
    return quote(slug, safe="") if slug else str(fallback)


def _aired(episode: Episode) -> datetime:
    """The air instant as iCalendar can say it: UTC, whole seconds (so grouping matches the file)."""
    return episode.first_aired.astimezone(UTC).replace(microsecond=0)


def _paragraphs(*parts: str | None) -> str:
    """Blank-line separated; each part trimmed, since libical drops a value's leading whitespace."""
    return "\n\n".join(trimmed for part in parts if part and (trimmed := part.strip()))


def _text(value: str) -> str:
    """Multi-line text made safe for any parser: one kind of newline, no control characters."""
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", value))


def _line(value: str) -> str:
    """Single-line text (titles, network): line breaks become spaces, since a SUMMARY is one line."""
    return " ".join(_text(value).split("\n")).strip()


def _uri(value: str | None) -> str | None:
    """A URI property value is written raw (no TEXT escaping applies), so anything odd is left out."""
    return value if value and _URI.fullmatch(value) else None


# Octets of the lines every event has whatever its text: BEGIN/END, DTSTAMP, LAST-MODIFIED,
# SEQUENCE, DTSTART/DTEND, STATUS, TRANSP, X-MICROSOFT-CDO-BUSYSTATUS (measured on rendered events).
_FIXED_OCTETS = 217
_ALL_DAY_OCTETS = 6  # two ";VALUE=DATE" parameters, less the time of day
_ALARM_OCTETS = 60  # BEGIN/END:VALARM, ACTION, a relative TRIGGER, the DESCRIPTION name
_ABSOLUTE_TRIGGER_OCTETS = 26  # what `;VALUE=DATE-TIME:20270314T064500Z` adds over `:-PT30M`


def _estimated_size(events: Iterable[Event]) -> int:
    """Octets the events will take once rendered, without rendering them (within a few percent).

    Cheap enough to run for every detail level of a large feed, which rendering is not.
    """
    total = 0
    for event in events:
        total += _FIXED_OCTETS + (0 if isinstance(event.start, datetime) else _ALL_DAY_OCTETS)
        total += _line_octets("UID", event.uid) + _line_octets("SUMMARY", event.summary)
        total += _line_octets("DESCRIPTION", event.description) + _line_octets("LOCATION", event.location)
        total += _line_octets("URL", event.url) + _line_octets("CATEGORIES", ",".join(event.categories))
        total += _line_octets("IMAGE;VALUE=URI;DISPLAY=BADGE;FMTTYPE=image/jpeg", event.image)
        total += _line_octets("ATTACH;FMTTYPE=image/jpeg", event.attach)
        if event.alarm is not None:
            total += _ALARM_OCTETS + _line_octets("DESCRIPTION", event.summary)
            total += _ABSOLUTE_TRIGGER_OCTETS if isinstance(event.alarm, datetime) else 0
    return total


def _line_octets(name: str, value: str | None) -> int:
    """One content line: name, escaped value, CRLF, and a CRLF + space per 74 octets folded."""
    if not value:
        return 0
    escapes = value.count(",") + value.count(";") + value.count("\\") + value.count("\n")
    octets = len(name) + 1 + len(value.encode()) + escapes
    return octets + 2 + 3 * ((octets - 1) // 74)


# --- serialization ---------------------------------------------------------------------------------


def render(calendar: CalendarInfo, events: Sequence[Event], revisions: Mapping[str, Revision]) -> bytes:
    """The whole feed; unchanged events come from a per-process cache of their serialized bytes."""
    ordered = sorted(events, key=lambda event: (event.order, event.uid))
    if len({event.uid for event in ordered}) != len(ordered):
        raise ValueError("two events share a UID")
    head, tail = _calendar_frame(calendar)
    parts = [head]
    parts.extend(_serialized(event, revisions[event.uid]) for event in ordered)
    parts.append(tail)
    return b"".join(parts)


def _calendar_frame(calendar: CalendarInfo) -> tuple[bytes, bytes]:
    """The VCALENDAR lines before and after the events."""
    ics = _IcsCalendar()
    ics.add("version", "2.0")
    ics.add("prodid", PRODID)
    ics.add("calscale", "GREGORIAN")
    name = vText(_line(calendar.name) or "Airdate")
    ics.add("name", name)
    ics.add("x-wr-calname", name)
    if description := _text(calendar.description).strip():  # an empty value is an error to libical
        ics.add("description", vText(description))
        ics.add("x-wr-caldesc", vText(description))
    ics.add("refresh-interval", vDuration(calendar.refresh), parameters={"VALUE": "DURATION"})
    ics.add("x-published-ttl", vDuration(calendar.refresh))
    body: bytes = ics.to_ical(sorted=False)
    end = b"END:VCALENDAR\r\n"
    return body.removesuffix(end), end


def _serialized(event: Event, revision: Revision) -> bytes:
    key = (event.uid, event.fingerprint, revision.sequence, revision.modified)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _serialize(event, revision)
        _CACHE.put(key, cached)
    return cached


def _serialize(event: Event, revision: Revision) -> bytes:
    if revision.modified.tzinfo is None:
        raise ValueError(f"revision of {event.uid} has a naive modified time")
    modified = revision.modified.astimezone(UTC).replace(microsecond=0)
    vevent = _IcsEvent()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", modified)
    vevent.add("last-modified", modified)
    vevent.add("sequence", revision.sequence)
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    if event.url:
        vevent.add("url", event.url)
    vevent.add("categories", list(event.categories))
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "TRANSPARENT")
    vevent.add("x-microsoft-cdo-busystatus", "FREE")
    if event.image:
        image_params = {"VALUE": "URI", "DISPLAY": "BADGE", "FMTTYPE": "image/jpeg"}
        vevent.add("image", event.image, parameters=image_params)
    if event.attach:
        vevent.add("attach", event.attach, parameters={"FMTTYPE": "image/jpeg"})
    if event.alarm is not None:
        alarm = _IcsAlarm()
        alarm.add("action", "DISPLAY")
        if isinstance(event.alarm, datetime):  # icalendar would leave out the VALUE the RFC requires
            alarm.add("trigger", event.alarm, parameters={"VALUE": "DATE-TIME"})
        else:
            alarm.add("trigger", event.alarm)
        alarm.add("description", event.summary)
        vevent.add_component(alarm)
    serialized: bytes = vevent.to_ical(sorted=False)
    return serialized


class _ByteBoundedCache:
    """An LRU of serialized VEVENTs bounded by total size, since descriptions vary from 0 to many KB.

    Keys include SEQUENCE and LAST-MODIFIED as well as the fingerprint, so an entry can never be
    served for a different revision; stale entries simply age out.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._size = 0
        self._items: OrderedDict[object, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: object, value: bytes) -> None:
        with self._lock:
            previous = self._items.pop(key, None)
            self._size += len(value) - (len(previous) if previous is not None else 0)
            self._items[key] = value
            while self._size > self._max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)


_CACHE = _ByteBoundedCache(max_bytes=64 * 1024 * 1024)
