"""Feed options: what a feed shows, stored per feed and overridable in the feed URL's query.

Why strict: a calendar app shows whatever it is given, so a typo in a hand-tuned URL must be a 400 that
names the option and the allowed values, never a silent fallback to defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from app.sources import SOURCES

MAX_PAST_DAYS = 90
MAX_FUTURE_DAYS = 365
MAX_ALARM_MINUTES = 7 * 24 * 60
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class OptionError(ValueError):
    """A bad option; `str()` is the plain-text answer: which option, what was wrong, what is allowed."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}")
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
            raise OptionError(name, f"unknown option; allowed: {', '.join(sorted(_PARSERS))}")
        changes[name] = parser(name, raw.strip())
    return replace(base, **changes)


def _sources(name: str, raw: str) -> tuple[str, ...]:
    allowed = ", ".join(SOURCES)
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise OptionError(name, f"give at least one of: {allowed}")
    for part in parts:
        if part not in SOURCES:
            raise OptionError(name, f"unknown source {part!r}; allowed: {allowed}")
    return tuple(dict.fromkeys(parts))


def _bounded(limit: int) -> Any:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise OptionError(name, f"{raw!r} is not a whole number; allowed: 0 to {limit}") from None
        if not 0 <= value <= limit:
            raise OptionError(name, f"{value} is out of range; allowed: 0 to {limit}")
        return value

    return parse


def _flag(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise OptionError(name, f"{raw!r} is not a yes/no value; allowed: true, false, 1, 0")


def _alarm(name: str, raw: str) -> int | None:
    if raw == "" or raw.lower() in {"none", "off"}:
        return None
    value: int = _bounded(MAX_ALARM_MINUTES)(name, raw)
    return value


def _tz(name: str, raw: str) -> str | None:
    if raw == "":
        return None
    if raw not in zone_names():
        raise OptionError(
            name, f"unknown time zone {raw!r}; use an IANA name such as Europe/Berlin or America/New_York"
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
