"""The registry of real parsers the feed is judged by, and `parse_all` to run every one of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from .calcurse_adapter import parse_calcurse
from .model import HarnessSetupError, ParsedCalendar, ParserRejected
from .native_adapters import parse_icaljs, parse_libical
from .python_adapters import parse_ical, parse_icalendar, parse_recurring_ical_events, parse_vobject

__all__ = ["PARSERS", "HarnessSetupError", "ParserRejected", "parse_all"]

PARSERS: Mapping[str, Callable[[bytes], ParsedCalendar]] = MappingProxyType(
    {
        "icalendar": parse_icalendar,
        "vobject": parse_vobject,
        "ical": parse_ical,
        "recurring_ical_events": parse_recurring_ical_events,
        "icaljs": parse_icaljs,
        "libical": parse_libical,
        "calcurse": parse_calcurse,
    }
)


def parse_all(data: bytes) -> dict[str, ParsedCalendar]:
    """Every parser's decoding of one feed; the first rejection is raised as ParserRejected."""
    return {name: parse(data) for name, parse in PARSERS.items()}
