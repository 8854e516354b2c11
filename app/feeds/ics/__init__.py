"""Calendar entries + feed options -> iCalendar bytes, the part a person actually sees in their calendar app.

Pure on purpose: no I/O, no clock, no database. Everything that varies (entries, posters, options, the
revision history of each event) comes in as arguments, so the same inputs always give the same bytes
and the feed's ETag can simply be a hash of the body.

Two steps, because the caller sits between them: `build_events` turns entries into `Event` values
with a content `fingerprint`; the caller compares fingerprints with what it stored, bumps SEQUENCE and
LAST-MODIFIED for the events that changed, then `render` serializes. The modules, in the order a
feed passes through them:
- `model`: the values passed around; `EventContent` is what is written and what is fingerprinted;
- `text`: cleaning titles and prose for any parser;
- `wording`: labels, categories, `SxxEyy` codes, Trakt links;
- `events`: entries -> events (de-duplication, drops, all-day mode, alarms), within
- `budget`: how much text each event can afford so the feed stays under the size clients accept;
- `frame`: the VCALENDAR around the serialized VEVENTs, and the cache of those.
"""

from app.domain.posterkey import PosterKey
from app.feeds.ics.events import build_events
from app.feeds.ics.frame import PRODID, render
from app.feeds.ics.model import (
    BYTE_BUDGET,
    CalendarInfo,
    Event,
    EventContent,
    Notice,
    RenderOptions,
    Revision,
)
from app.feeds.ics.wording import EPISODE_LABELS, RELEASE_LABELS, episode_code

__all__ = [
    "BYTE_BUDGET",
    "EPISODE_LABELS",
    "PRODID",
    "RELEASE_LABELS",
    "CalendarInfo",
    "Event",
    "EventContent",
    "Notice",
    "PosterKey",
    "RenderOptions",
    "Revision",
    "build_events",
    "episode_code",
    "render",
]
