"""Syntax of the iCalendar value types the linter checks (RFC 5545 §3.3), from raw value text.

Each checker returns an error message or None, so the linter decides severity and line numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")
_DURATION = re.compile(r"[+-]?P(?:\d+W|(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)")
_TEXT_ESCAPES = frozenset("\\;,nN")


def text_error(value: str, *, list_valued: bool = False) -> str | None:
    """Why a raw TEXT value is not validly escaped; in a list a raw comma separates items."""
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            following = value[index + 1 : index + 2]
            if following not in _TEXT_ESCAPES:
                return f"backslash not part of a valid escape at column {index + 1}"
            index += 2
            continue
        if char == ";" or (char == "," and not list_valued):
            return f"unescaped {char!r} at column {index + 1}"
        if (ord(char) < 0x20 and char != "\t") or char == "\x7f":
            return f"control character {char!r} at column {index + 1}"
        index += 1
    return None


def is_duration(value: str) -> bool:
    """RFC 5545 §3.3.6 dur-value; weeks cannot mix with other units."""
    return _DURATION.fullmatch(value) is not None


def parse_date(value: str) -> date | None:
    """A VALUE=DATE value, or None when it is not one (wrong shape or impossible date)."""
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_date_time(value: str) -> tuple[datetime, bool] | None:
    """A DATE-TIME value as (naive wall time, is UTC), or None when it is not one."""
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return wall, match[7] == "Z"


def comparable_instant(wall: datetime, utc: bool, tzid: str | None) -> datetime | None:
    """An aware instant to compare DTSTART with DTEND; None when the zone is not IANA-resolvable."""
    if utc:
        return wall.replace(tzinfo=ZoneInfo("UTC"))
    if tzid is None:
        return wall.replace(tzinfo=ZoneInfo("UTC"))  # floating: both ends share the same wall clock
    try:
        return wall.replace(tzinfo=ZoneInfo(tzid))
    except (ZoneInfoNotFoundError, ValueError):
        return None
