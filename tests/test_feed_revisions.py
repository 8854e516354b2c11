"""SEQUENCE bookkeeping: the decision is pure (`revise`), so it is tested here without a database;
what the stored rows do across renderings is covered through the real service in test_feed_http."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.feeds.ics import Event, EventContent, Revision
from app.feeds.revisions import revise
from app.store.revisions import Published

EARLIER = datetime(2027, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 2, 1, tzinfo=UTC)


def _event(uid: str, summary: str) -> Event:
    day = date(2027, 3, 1)
    content = EventContent(day, day, summary, "", None, None, ("TV",), None, None, None)
    return Event(uid, NOW, content)


def test_a_new_event_starts_at_sequence_zero_now() -> None:
    event = _event("a", "A")
    revisions, changed = revise([event], {}, NOW)
    assert revisions == {"a": Revision(0, NOW)}
    assert changed == [Published("a", event.fingerprint, 0, NOW)]


def test_an_unchanged_event_keeps_its_revision_and_writes_nothing() -> None:
    event = _event("a", "A")
    revisions, changed = revise([event], {"a": Published("a", event.fingerprint, 3, EARLIER)}, NOW)
    assert (revisions, changed) == ({"a": Revision(3, EARLIER)}, [])


def test_a_changed_event_goes_one_higher_now() -> None:
    before = _event("a", "A")
    after = _event("a", "A, renamed")
    revisions, changed = revise([after], {"a": Published("a", before.fingerprint, 3, EARLIER)}, NOW)
    assert revisions == {"a": Revision(4, NOW)}
    assert changed == [Published("a", after.fingerprint, 4, NOW)]


def test_events_no_longer_served_are_left_alone() -> None:
    # A vanished event's record stays, so if it comes back unchanged its SEQUENCE does not move.
    gone = Published("gone", "f" * 64, 2, EARLIER)
    revisions, changed = revise([], {"gone": gone}, NOW)
    assert (revisions, changed) == ({}, [])
