"""The values the iCalendar modules pass around: what goes in (options, notices, revisions) and the
`Event` that comes out of building and goes into rendering.

Why `EventContent` is its own dataclass: it is exactly what `render` writes for an event apart from
its UID and revision, and its field tuple is what the fingerprint hashes. A property added to the
file must be added here to be written at all, so the fingerprint covers what is written by
construction: no list of fields to keep in step with the serializer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from operator import attrgetter
from zoneinfo import ZoneInfo

# Google Calendar is reported to drop events from feeds above ~1 MB; stay clearly below it.
BYTE_BUDGET = 800_000

# Bumped whenever the serialized shape of an event changes (a new property, a new wording), so every
# stored fingerprint differs once and clients receive the new shape with a higher SEQUENCE.
FORMAT = "airdate-event-1"


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
class EventContent:
    """Every property of one VEVENT that `render` writes, except the UID and the revision ones.

    `start`/`end` are aware UTC datetimes for timed events and dates (end exclusive) for all-day ones.
    `alarm` is the VALARM trigger: a duration relative to the start (negative = before it), an
    absolute aware-UTC instant (all-day episodes, see `events.Builder._alarm`), or None for none.
    The field order is part of the stored fingerprints: reordering fields bumps every SEQUENCE.
    """

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

    def fingerprint(self) -> str:
        """A hash of the format and every field, in field order (`dataclasses.astuple` would deep-copy)."""
        values: tuple[object, ...] = _field_values(self)
        return hashlib.sha256(repr((FORMAT, *values)).encode()).hexdigest()


_field_values = attrgetter(*(each.name for each in fields(EventContent)))

# The poster types TMDB serves (`app.upstream.tmdb` accepts no other extension); a JPEG when unknown.
_IMAGE_TYPES = {"png": "image/png", "webp": "image/webp", "svg": "image/svg+xml"}


def image_type(url: str) -> str:
    """The FMTTYPE of an IMAGE or ATTACH URL, from its extension: a function of the URL, so the
    fingerprint (which holds the URL) covers it."""
    return _IMAGE_TYPES.get(url.rpartition(".")[2].lower(), "image/jpeg")


@dataclass(frozen=True, slots=True)
class Event:
    """One VEVENT, built but not serialized: its UID, where it sorts, and what it says.

    `order` is the instant the event sorts by, so timed and all-day events interleave correctly.
    `fingerprint` is computed from `content` alone, once, when the event is made.
    """

    uid: str
    order: datetime
    content: EventContent
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprint", self.content.fingerprint())
