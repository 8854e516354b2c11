"""Normalisation shared by the adapters, so every parser's output compares equal when it agrees."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from .model import ParserRejected


def instant(value: date | datetime) -> date | datetime:
    """DATE stays a `date`; a DATE-TIME becomes aware UTC.

    A naive datetime is a floating time (or a TZID the parser could not resolve); every parser we
    drive then uses the wall clock as is, so it is read as UTC rather than in the machine's zone.
    """
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def start(parser: str, uid: object, value: date | datetime | None) -> date | datetime:
    """The start of an event, normalised; a parser that accepts a VEVENT without DTSTART counts as
    rejecting it, because a made-up start would let the defect through unnoticed."""
    if value is None:
        raise ParserRejected(parser, f"event {uid!r} decoded without a start")
    return instant(value)


def utc(value: date | datetime | None) -> datetime | None:
    """A DATE-TIME-only field (DTSTAMP, LAST-MODIFIED) as aware UTC; a DATE there is a defect."""
    if value is None:
        return None
    normalised = instant(value)
    if not isinstance(normalised, datetime):
        raise TypeError(f"expected a DATE-TIME, got the DATE {value}")
    return normalised


def alarm_trigger(value: object) -> timedelta | datetime | None:
    """A decoded TRIGGER: a relative duration as is, an absolute DATE-TIME as aware UTC."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, datetime):
        return utc(value)
    return None


def duration_text(value: timedelta) -> str:
    """An RFC 5545 duration, the form a feed writes, for parsers that hand back a timedelta."""
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    day_part = f"{days}D" if days or not clock else ""
    return f"{sign}P{day_part}{'T' + clock if clock else ''}"
