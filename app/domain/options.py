"""Feed options: what a feed shows, stored per feed and overridable in the feed URL's query.

Why strict: a calendar app shows whatever it is given, so a typo in a hand-tuned URL must be a 400 that
names the option and the allowed values, never a silent fallback to defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from app.domain.sources import SOURCES

MAX_PAST_DAYS = 90
MAX_FUTURE_DAYS = 365
MAX_ALARM_MINUTES = 7 * 24 * 60
# Exactly these words, as the 400 text lists them: no case folding, no yes/on, no stripping.
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_FLAG_WORDS = "true, false, 1, 0"
# ASCII digits only: int() would also take "1_0", "+5", " 5" and full-width or Arabic-Indic digits.
# Six digits are plenty for every limit and keep int() away from pathological lengths.
_DIGITS = re.compile(r"[0-9]{1,6}")
_NO_ALARM = frozenset({"", "none", "off"})
_PLAIN_NAME = re.compile(r"[a-z_]{1,20}")
_SHOWN = 40  # characters of a bad value echoed back: enough to recognise, never a megabyte


class OptionError(ValueError):
    """A bad option; `str()` is the plain-text answer: which option, what was wrong, what is allowed."""

    def __init__(self, option: str, problem: str) -> None:
        # A made-up name is quoted and cut like a bad value: the answer never echoes 50 KB of query.
        self.label = option if _PLAIN_NAME.fullmatch(option) else _shown(option)
        super().__init__(f"{self.label}: {problem}")
        self.option = option


@dataclass(frozen=True, slots=True)
class FeedOptions:
    sources: tuple[str, ...] = ("shows", "movies")
    past_days: int = 7
    future_days: int = 60
    all_day: bool = False
    alarm: int | None = None  # minutes before the start
    group: bool = True
    specials: bool = False
    hide_watched: bool = False
    tz: str | None = None  # None: the user's Trakt time zone

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedOptions:
        """Options as stored; unknown keys from older versions are ignored, values re-validated."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return parse_options({name: query_text(value) for name, value in known.items()}, cls())


def query_text(value: Any) -> str:
    """An option's value (as `to_json` gives it) the way a feed URL's query writes it."""
    if isinstance(value, list | tuple):
        return ",".join(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_options(values: Mapping[str, str], base: FeedOptions = FeedOptions()) -> FeedOptions:
    """Apply textual options (a URL query, CLI flags) over `base`; raise OptionError on the first bad one."""
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        parser = _PARSERS.get(name)
        if parser is None:
            raise _unknown(name, _PARSERS)
        changes[name] = parser(name, raw)
    return replace(base, **changes)


def unique_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """(name, value) pairs, from a URL query or repeated `--set`, as a mapping.

    A name given twice is an OptionError naming it: silently keeping one of them would serve a
    calendar the person did not ask for.
    """
    values: dict[str, str] = {}
    for name, raw in pairs:
        if name in values:
            hint = "; list several sources in one value: sources=shows,movies" if name == "sources" else ""
            raise OptionError(name, f"given more than once; give it once{hint}")
        values[name] = raw
    return values


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """A feed URL's query: option overrides, plus `download`, which is about the response only."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    download: bool = False


NO_QUERY = FeedQuery()


def parse_query(pairs: Iterable[tuple[str, str]]) -> FeedQuery:
    """Check a feed URL's query: each name once, every name known; option values are judged later
    (over the feed's stored options) by `parse_options`."""
    values = unique_values(pairs)
    download = values.pop("download", None)
    for name in values:
        if name not in _PARSERS:
            raise _unknown(name, _QUERY_NAMES)
    return FeedQuery(values, download is not None and _flag("download", download))


def _unknown(name: str, allowed: Iterable[str]) -> OptionError:
    return OptionError(name, f"unknown option; allowed: {', '.join(sorted(allowed))}")


def _shown(raw: str) -> str:
    """A bad value as the answer quotes it: repr (so control characters show), cut to a few words."""
    return repr(raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "...")


def _sources(name: str, raw: str) -> tuple[str, ...]:
    allowed = ", ".join(SOURCES)
    parts = [part.strip(" ") for part in raw.split(",") if part.strip(" ")]
    if not parts:
        raise OptionError(name, f"no source given; allowed: one or more of {allowed}, comma-separated")
    for part in parts:
        if part not in SOURCES:
            raise OptionError(name, f"unknown source {_shown(part)}; allowed: {allowed}, comma-separated")
    return tuple(dict.fromkeys(parts))


def _bounded(limit: int, accepted: str | None = None) -> Any:
    """A parser of whole numbers 0..limit in ASCII digits; `accepted` is the 400 text's list."""
    allowed = accepted or f"a whole number from 0 to {limit}"

    def parse(name: str, raw: str) -> int:
        if _DIGITS.fullmatch(raw) is None:
            shape = "is out of range" if _DIGITS.fullmatch(raw.removeprefix("-")) else "is not a whole number"
            raise OptionError(name, f"{_shown(raw)} {shape}; allowed: {allowed}")
        value = int(raw)
        if value > limit:
            raise OptionError(name, f"{value} is out of range; allowed: {allowed}")
        return value

    return parse


def _flag(name: str, raw: str) -> bool:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise OptionError(name, f"{_shown(raw)} is not a yes/no value; allowed: {_FLAG_WORDS}")


_ALARM_ACCEPTED = (
    f"a whole number of minutes from 0 to {MAX_ALARM_MINUTES}, or none, off or an empty value for no alarm"
)
_alarm_minutes = _bounded(MAX_ALARM_MINUTES, _ALARM_ACCEPTED)


def _alarm(name: str, raw: str) -> int | None:
    if raw in _NO_ALARM:
        return None
    value: int = _alarm_minutes(name, raw)
    return value


def _tz(name: str, raw: str) -> str | None:
    if raw == "":
        return None
    if raw not in zone_names():
        raise OptionError(
            name,
            f"unknown time zone {_shown(raw)}; allowed: an IANA name such as Europe/Berlin or "
            "America/New_York, or an empty value for the Trakt account's time zone",
        )
    return raw


@cache
def zone_names() -> frozenset[str]:
    """The IANA names this machine knows (tzdata); loaded once, it takes a few milliseconds."""
    return frozenset(available_timezones())


_PARSERS: Mapping[str, Any] = {
    "sources": _sources,
    "past_days": _bounded(MAX_PAST_DAYS),
    "future_days": _bounded(MAX_FUTURE_DAYS),
    "all_day": _flag,
    "alarm": _alarm,
    "group": _flag,
    "specials": _flag,
    "hide_watched": _flag,
    "tz": _tz,
}
_QUERY_NAMES = frozenset({*_PARSERS, "download"})
