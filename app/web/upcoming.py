"""The dashboard's "Coming up" row: the events a feed publishes from now on, by day in the feed's zone.

Why built from `ics.build_events` and not from the calendar entries: a calendar app shows events, not
entries. A season released at once is one event (`S02E01–E08`), a premiere or finale carries its label,
a movie its release kind, and an all-day feed puts an episode on its local date. Feeding the same
function the same entries, posters and options gives exactly the events the feed serves, so the row
can never disagree with the person's calendar; only the layout differs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from app.domain.entries import Entry
from app.domain.options import FeedOptions
from app.feeds import ics

SHOWN = 30  # cards before "Show all": enough for a week or two, few enough for a light page
_EPISODE_MARKS = frozenset(ics.EPISODE_LABELS.values())
_RELEASE_MARKS = frozenset(ics.RELEASE_LABELS.values())


@dataclass(frozen=True, slots=True)
class Card:
    """One event as a poster card: `title` is its SUMMARY without the marks shown beside it."""

    uid: str
    title: str
    marks: tuple[str, ...]
    url: str | None
    image: str | None
    time: str | None  # local "HH:MM" for a timed event, None for an all-day one
    start_iso: str


@dataclass(frozen=True, slots=True)
class Day:
    label: str  # "Today", "Tomorrow", "Thu 10 Dec"
    iso: str
    cards: tuple[Card, ...]


@dataclass(frozen=True, slots=True)
class Upcoming:
    days: tuple[Day, ...]
    total: int  # events from now to the end of the feed's window
    hidden: int  # of those, left out of `days` (reachable through "Show all")


def upcoming(
    entries: Sequence[Entry],
    posters: Mapping[ics.PosterKey, str],
    options: FeedOptions,
    *,
    feed_id: int,
    tz: ZoneInfo,
    now: datetime,
    limit: int | None = SHOWN,
) -> Upcoming:
    """The feed's events that have not ended yet, grouped by local day; the first `limit` of them."""
    render_options = ics.RenderOptions(
        feed_id=feed_id,
        tz=tz,
        all_day_episodes=options.all_day,
        group_drops=options.group,
        byte_budget=sys.maxsize,  # full detail: the budget trims text, never events, UIDs or links
    )
    today = now.astimezone(tz).date()
    events = [
        event
        for event in ics.build_events(entries, posters, render_options)
        if _ends_after(event, now, today)
    ]
    shown = events if limit is None else events[:limit]
    days = tuple(
        Day(label=day_label(day, today), iso=day.isoformat(), cards=tuple(_card(e, tz) for e in group))
        for day, group in groupby(shown, key=lambda event: _local_day(event, tz))
    )
    return Upcoming(days=days, total=len(events), hidden=len(events) - len(shown))


def day_label(day: date, today: date) -> str:
    if day == today:
        return "Today"
    if day == today + timedelta(days=1):
        return "Tomorrow"
    return f"{day:%a} {day.day} {day:%b}"


def _ends_after(event: ics.Event, now: datetime, today: date) -> bool:
    """Still to come or under way: a timed event until it ends, an all-day one through its day."""
    if isinstance(event.content.end, datetime):
        return event.content.end > now
    return event.content.end > today


def _local_day(event: ics.Event, tz: ZoneInfo) -> date:
    start = event.content.start
    return start.astimezone(tz).date() if isinstance(start, datetime) else start


def _card(event: ics.Event, tz: ZoneInfo) -> Card:
    marks = tuple(
        category for category in event.content.categories if category in _EPISODE_MARKS | _RELEASE_MARKS
    )
    title = event.content.summary
    for mark in marks:  # the SUMMARY says "Season premiere: …" or "… · Digital release"
        title = title.removeprefix(f"{mark}: ").removesuffix(f" · {mark}")
    start = event.content.start
    return Card(
        uid=event.uid,
        title=title,
        marks=marks,
        url=event.content.url,
        image=event.content.image,
        time=f"{start.astimezone(tz):%H:%M}" if isinstance(start, datetime) else None,
        start_iso=start.astimezone(tz).isoformat() if isinstance(start, datetime) else start.isoformat(),
    )
