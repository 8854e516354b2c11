"""Events + revisions -> the whole feed's bytes: the VCALENDAR frame around serialized VEVENTs.

Serialization uses the `icalendar` library (7.x folds at 75 octets on UTF-8 boundaries, escapes TEXT
and list-valued CATEGORIES correctly, and writes `REFRESH-INTERVAL;VALUE=DURATION`); the text it
is given was cleaned by `app.feeds.ics.text`.

Why a cache of serialized VEVENTs: most re-renders change a few events of many, and serializing is
the expensive part. A VEVENT's bytes are a function of its UID, content and revision, and the key
holds all three (the fingerprint stands for the content), so an entry can never be served for a
different event or revision; stale entries simply age out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from icalendar import Alarm as _IcsAlarm
from icalendar import Calendar as _IcsCalendar
from icalendar import Event as _IcsEvent
from icalendar import vDuration, vText

from app import __version__
from app.core.lru import Lru
from app.feeds.ics.model import CalendarInfo, Event, Revision, image_type
from app.feeds.ics.text import line, text

PRODID = f"-//Airdate//Airdate {__version__}//EN"
VEVENT_CACHE_BYTES = 64 * 1024 * 1024

_VEventKey = tuple[str, str, int, datetime]
_CACHE: Lru[_VEventKey, bytes] = Lru(max_bytes=VEVENT_CACHE_BYTES, size=len)


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
    name = vText(line(calendar.name) or "Airdate")
    ics.add("name", name)
    ics.add("x-wr-calname", name)
    if description := text(calendar.description).strip():  # an empty value is an error to libical
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
        cached = serialize(event, revision)
        _CACHE.put(key, cached)
    return cached


def serialize(event: Event, revision: Revision) -> bytes:
    """One VEVENT's bytes, uncached: every `EventContent` field is written here and nowhere else."""
    if revision.modified.tzinfo is None:
        raise ValueError(f"revision of {event.uid} has a naive modified time")
    modified = revision.modified.astimezone(UTC).replace(microsecond=0)
    content = event.content
    vevent = _IcsEvent()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", modified)
    vevent.add("last-modified", modified)
    vevent.add("sequence", revision.sequence)
    vevent.add("dtstart", content.start)
    vevent.add("dtend", content.end)
    vevent.add("summary", content.summary)
    if content.description:
        vevent.add("description", content.description)
    if content.location:
        vevent.add("location", content.location)
    if content.url:
        vevent.add("url", content.url)
    vevent.add("categories", list(content.categories))
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "TRANSPARENT")
    vevent.add("x-microsoft-cdo-busystatus", "FREE")
    if content.image:
        image_params = {"VALUE": "URI", "DISPLAY": "BADGE", "FMTTYPE": image_type(content.image)}
        vevent.add("image", content.image, parameters=image_params)
    if content.attach:
        vevent.add("attach", content.attach, parameters={"FMTTYPE": image_type(content.attach)})
    if content.alarm is not None:
        alarm = _IcsAlarm()
        alarm.add("action", "DISPLAY")
        if isinstance(content.alarm, datetime):  # icalendar would leave out the VALUE the RFC requires
            alarm.add("trigger", content.alarm, parameters={"VALUE": "DATE-TIME"})
        else:
            alarm.add("trigger", content.alarm)
        alarm.add("description", content.summary)
        vevent.add_component(alarm)
    serialized: bytes = vevent.to_ical(sorted=False)
    return serialized
