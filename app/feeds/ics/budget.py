"""The size budget: how much text each event of a feed can afford, and what a feed will weigh.

Why estimated and not rendered: a large feed may be tried at every detail level, and estimating is
cheap where rendering is not. Why coarse levels: a step changes every event (a SEQUENCE bump for
all), so the level must not move each time the window gains or loses an episode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.feeds.ics.model import Event, image_type

# calcurse silently truncates content lines beyond its 8 KiB buffer, and no calendar app shows
# more than a few KB of prose usefully; longer overviews are cut (at a word, marked with …).
OVERVIEW_OCTETS = 4000


@dataclass(frozen=True, slots=True)
class Detail:
    """How much text each event of a feed can afford."""

    overview_octets: int  # UTF-8 octets of an overview kept; 0 leaves overviews out
    copies: bool  # poster and network lines in DESCRIPTION, ATTACH beside IMAGE
    image: bool  # the RFC 7986 IMAGE, which few clients show
    description: bool  # DESCRIPTION at all; its Trakt link is also the URL property


# Most expendable first: long overviews, then all overviews, then what other properties already
# carry or few clients show.
DETAIL_LEVELS = (
    Detail(OVERVIEW_OCTETS, copies=True, image=True, description=True),
    Detail(600, copies=True, image=True, description=True),
    Detail(0, copies=True, image=True, description=True),
    Detail(0, copies=False, image=False, description=True),
    Detail(0, copies=False, image=False, description=False),
)

# Octets of the lines every event has whatever its text: BEGIN/END, DTSTAMP, LAST-MODIFIED,
# SEQUENCE, DTSTART/DTEND, STATUS, TRANSP, X-MICROSOFT-CDO-BUSYSTATUS (measured on rendered events).
_FIXED_OCTETS = 217
_ALL_DAY_OCTETS = 6  # two ";VALUE=DATE" parameters, less the time of day
_ALARM_OCTETS = 60  # BEGIN/END:VALARM, ACTION, a relative TRIGGER, the DESCRIPTION name
_ABSOLUTE_TRIGGER_OCTETS = 26  # what `;VALUE=DATE-TIME:20270314T064500Z` adds over `:-PT30M`


def estimated_size(events: Iterable[Event]) -> int:
    """Octets the events will take once rendered, without rendering them (within a few percent)."""
    total = 0
    for event in events:
        content = event.content
        total += _FIXED_OCTETS + (0 if isinstance(content.start, datetime) else _ALL_DAY_OCTETS)
        total += _line_octets("UID", event.uid) + _line_octets("SUMMARY", content.summary)
        total += _line_octets("DESCRIPTION", content.description)
        total += _line_octets("LOCATION", content.location) + _line_octets("URL", content.url)
        total += _line_octets("CATEGORIES", ",".join(content.categories))
        image, attach = content.image or "", content.attach or ""
        total += _line_octets(f"IMAGE;VALUE=URI;DISPLAY=BADGE;FMTTYPE={image_type(image)}", image)
        total += _line_octets(f"ATTACH;FMTTYPE={image_type(attach)}", attach)
        if content.alarm is not None:
            total += _ALARM_OCTETS + _line_octets("DESCRIPTION", content.summary)
            total += _ABSOLUTE_TRIGGER_OCTETS if isinstance(content.alarm, datetime) else 0
    return total


def _line_octets(name: str, value: str | None) -> int:
    """One content line: name, escaped value, CRLF, and a CRLF + space per 74 octets folded."""
    if not value:
        return 0
    escapes = value.count(",") + value.count(";") + value.count("\\") + value.count("\n")
    octets = len(name) + 1 + len(value.encode()) + escapes
    return octets + 2 + 3 * ((octets - 1) // 74)
