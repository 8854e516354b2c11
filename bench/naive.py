"""The rendering baseline: the same events built the obvious way, one `icalendar` object tree per feed.

Why it exists: `ics.render` keeps serialized VEVENTs between renders, and the claim worth checking is
how much that buys over what anyone would write first. This builds the same properties every time,
with nothing remembered, and must produce the same events (checked by the benchmark).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC

from icalendar import Alarm, Calendar, Event, vDuration

from app.feeds import ics


def render(
    info: ics.CalendarInfo, events: Sequence[ics.Event], revisions: Mapping[str, ics.Revision]
) -> bytes:
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", ics.PRODID)
    calendar.add("calscale", "GREGORIAN")
    for name in ("name", "x-wr-calname"):
        calendar.add(name, info.name)
    if info.description:
        for name in ("description", "x-wr-caldesc"):
            calendar.add(name, info.description)
    calendar.add("refresh-interval", vDuration(info.refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(info.refresh))
    for event in sorted(events, key=lambda event: (event.order, event.uid)):
        calendar.add_component(_vevent(event, revisions[event.uid]))
    body: bytes = calendar.to_ical()
    return body


def _vevent(event: ics.Event, revision: ics.Revision) -> Event:
    content = event.content
    modified = revision.modified.astimezone(UTC).replace(microsecond=0)
    vevent = Event()
    properties = {
        "uid": event.uid,
        "dtstamp": modified,
        "last-modified": modified,
        "sequence": revision.sequence,
        "dtstart": content.start,
        "dtend": content.end,
        "summary": content.summary,
        "description": content.description or None,
        "location": content.location,
        "url": content.url,
        "categories": list(content.categories),
        "status": "CONFIRMED",
        "transp": "TRANSPARENT",
        "x-microsoft-cdo-busystatus": "FREE",
    }
    for name, value in properties.items():
        if value is not None:
            vevent.add(name, value)
    if content.image:
        image_params = {"VALUE": "URI", "DISPLAY": "BADGE", "FMTTYPE": "image/jpeg"}
        vevent.add("image", content.image, parameters=image_params)
    if content.attach:
        vevent.add("attach", content.attach, parameters={"FMTTYPE": "image/jpeg"})
    if content.alarm is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", content.alarm)
        alarm.add("description", content.summary)
        vevent.add_component(alarm)
    return vevent
