"""SEQUENCE and LAST-MODIFIED per event: they move only when the event's content changed.

Why: calendar clients, Google above all, ignore a changed event unless its SEQUENCE rises, and a
SEQUENCE that rises without a change makes some of them re-alert. So each rendering compares every
event's fingerprint with what the feed last published (`app.store.revisions`) and bumps only the
events whose fingerprint moved. A feed's stored options and each URL-override variant keep their own
history: they are different subscriptions, and sharing one would bump SEQUENCE every time two
variants were rendered in turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.options import FeedOptions, query_text
from app.feeds.ics import Event, Revision
from app.store.revisions import Published, publish, published


class Revisions:
    """Reads, decides and records one variant's revisions in one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    async def of(self, feed_id: int, variant: str, events: Sequence[Event]) -> dict[str, Revision]:
        """Each event's revision, after recording those that changed since the last rendering."""
        now = self._clock()
        async with self._sessions.begin() as session:
            revisions, changed = revise(events, await published(session, feed_id, variant), now)
            await publish(session, feed_id, variant, changed)
        return revisions


def revise(
    events: Sequence[Event], before: Mapping[str, Published], now: datetime
) -> tuple[dict[str, Revision], list[Published]]:
    """Each event's revision, and the records to write: new events at 0, changed ones one higher."""
    revisions: dict[str, Revision] = {}
    changed: list[Published] = []
    for event in events:
        last = before.get(event.uid)
        if last is not None and last.fingerprint == event.fingerprint:
            revisions[event.uid] = Revision(last.sequence, last.modified_at)
            continue
        sequence = 0 if last is None else last.sequence + 1
        revisions[event.uid] = Revision(sequence, now)
        changed.append(Published(event.uid, event.fingerprint, sequence, now))
    return revisions, changed


def variant_key(options: FeedOptions) -> str:
    """The key of a URL-override variant's SEQUENCE history: a hash of the options as a URL states them.

    Only the values that differ from the defaults, as text, in sorted JSON: so adding an option (with a
    default) to `FeedOptions` leaves every existing variant's history where it is.
    """
    defaults = FeedOptions().to_json()
    stated = {
        name: query_text(value) for name, value in options.to_json().items() if value != defaults.get(name)
    }
    canonical = json.dumps(stated, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
