"""What a parser decoded from a feed, in one shape for every parser.

Tests compare decoded values rather than "it parsed", because most real parsers accept broken feeds
silently and mangle the data instead (see the calendar-clients research). A field a parser cannot
expose is None, never a guess, so a test can tell "this parser lost it" from "this parser never says".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class ParsedAlarm:
    """One VALARM. `trigger` is what TRIGGER decodes to: a duration relative to the start, or the
    absolute instant (aware UTC) of a `VALUE=DATE-TIME` trigger; None when the parser does not say.

    An absolute trigger is compared as the instant the parser decoded, so a test can assert "fires
    exactly at air time less n minutes" against each parser rather than against our own arithmetic.
    """

    action: str
    trigger: timedelta | datetime | None
    description: str | None


@dataclass(frozen=True)
class ParsedEvent:
    """One VEVENT as decoded; datetimes are aware UTC, all-day values stay `date`."""

    uid: str
    summary: str | None
    description: str | None
    location: str | None
    url: str | None
    start: date | datetime
    end: date | datetime | None
    categories: tuple[str, ...] | None
    transp: str | None
    status: str | None
    sequence: int | None
    last_modified: datetime | None
    dtstamp: datetime | None
    image: str | None
    attach: str | None
    alarms: tuple[ParsedAlarm, ...] | None


@dataclass(frozen=True)
class ParsedCalendar:
    """Calendar-level properties (upper-case name -> decoded text) and the events in file order."""

    props: Mapping[str, str]
    events: tuple[ParsedEvent, ...]


class ParserRejected(Exception):
    """A parser refused the feed; the message names the parser and its reason.

    One exception for every parser so a test can say "this feed must be refused by X" without
    knowing X's own error taxonomy.
    """

    def __init__(self, parser: str, reason: str) -> None:
        super().__init__(f"{parser} rejected the feed: {reason}")
        self.parser = parser
        self.reason = reason


class HarnessSetupError(RuntimeError):
    """A tool the harness needs is missing or misbehaved: a broken setup, not a verdict on the feed.

    Kept apart from ParserRejected so a missing `node_modules` can never pass as "the parser
    rejected the bad sample".
    """
