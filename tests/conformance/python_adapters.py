"""Adapters over the Python parsers: icalendar, recurring-ical-events, vobject and ical (Home Assistant).

Each one drives its library the way its real consumers do, switches on the opt-in validation the
library offers, and reports what the library decoded without repairing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import icalendar
import recurring_ical_events
import vobject
from ical.calendar_stream import IcsCalendarStream
from ical.event import Event as HaEvent

from .model import ParsedAlarm, ParsedCalendar, ParsedEvent, ParserRejected
from .normalise import alarm_trigger, duration_text, instant, start, utc

FAR_PAST = (1900, 1, 1)
FAR_FUTURE = (2200, 1, 1)


def _text(data: bytes) -> str:
    """Decode as the text-based consumers do: bad bytes become U+FFFD rather than an error."""
    return data.decode("utf-8", errors="replace")


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


# --- icalendar -----------------------------------------------------------------------------


def parse_icalendar(data: bytes) -> ParsedCalendar:
    """`Calendar.from_ical` plus every validation icalendar 7 offers (errors, required, TZIDs)."""
    calendar = _icalendar_load("icalendar", data)
    for component in calendar.walk():
        if component.errors:
            raise ParserRejected("icalendar", f"{component.name}: {component.errors}")
    _require("icalendar", calendar, icalendar.Calendar.required)
    events = calendar.walk("VEVENT")
    for event in events:
        _require("icalendar", event, icalendar.Event.required)
    if missing := calendar.get_missing_tzids():
        raise ParserRejected("icalendar", f"TZID without VTIMEZONE: {sorted(missing)}")
    return _icalendar_calendar("icalendar", calendar, events)


def parse_recurring_ical_events(data: bytes) -> ParsedCalendar:
    """What an app built on recurring-ical-events lists: the expanded occurrences over all time."""
    calendar = _icalendar_load("recurring_ical_events", data)
    try:
        occurrences = recurring_ical_events.of(calendar).between(FAR_PAST, FAR_FUTURE)
    except Exception as exc:  # the library's errors share no base class worth naming
        raise ParserRejected("recurring_ical_events", f"{type(exc).__name__}: {exc}") from exc
    return _icalendar_calendar("recurring_ical_events", calendar, occurrences)


def _icalendar_load(parser: str, data: bytes) -> icalendar.Calendar:
    try:
        return icalendar.Calendar.from_ical(data)
    except Exception as exc:  # from_ical raises ValueError, KeyError and friends
        raise ParserRejected(parser, f"{type(exc).__name__}: {exc}") from exc


def _require(parser: str, component: icalendar.cal.Component, names: Iterable[str]) -> None:
    missing = [name for name in names if name not in component]
    if missing:
        raise ParserRejected(parser, f"{component.name} lacks required {missing}")


def _icalendar_calendar(
    parser: str, calendar: icalendar.Calendar, events: Iterable[icalendar.cal.Component]
) -> ParsedCalendar:
    props = {
        name: _icalendar_value(value)
        for name, value in calendar.property_items(recursive=False)
        if name not in {"BEGIN", "END"}
    }
    return ParsedCalendar(props, tuple(_icalendar_event(parser, event) for event in events))


def _icalendar_value(value: Any) -> str:
    """TEXT comes back unescaped as a `str` subclass; other types as icalendar serialises them."""
    if isinstance(value, str):
        return str(value)
    return bytes(value.to_ical()).decode("utf-8")


def _icalendar_optional(event: icalendar.cal.Component, name: str) -> str | None:
    value = event.get(name)
    if isinstance(value, list):
        value = value[0]
    return None if value is None else _icalendar_value(value)


def _icalendar_decoded(event: icalendar.cal.Component, name: str) -> Any:
    return event.decoded(name) if name in event else None


def _icalendar_event(parser: str, event: icalendar.cal.Component) -> ParsedEvent:
    raw_categories = event.get("CATEGORIES")
    category_props = raw_categories if isinstance(raw_categories, list) else [raw_categories]
    categories = tuple(str(item) for prop in category_props if prop is not None for item in prop.cats)
    end = _icalendar_decoded(event, "DTEND")
    sequence = _icalendar_decoded(event, "SEQUENCE")
    return ParsedEvent(
        uid=str(event.get("UID", "")),
        summary=_icalendar_optional(event, "SUMMARY"),
        description=_icalendar_optional(event, "DESCRIPTION"),
        location=_icalendar_optional(event, "LOCATION"),
        url=_icalendar_optional(event, "URL"),
        start=start(parser, str(event.get("UID")), _icalendar_decoded(event, "DTSTART")),
        end=None if end is None else instant(end),
        categories=categories,
        transp=_icalendar_optional(event, "TRANSP"),
        status=_icalendar_optional(event, "STATUS"),
        sequence=None if sequence is None else int(sequence),
        last_modified=utc(_icalendar_decoded(event, "LAST-MODIFIED")),
        dtstamp=utc(_icalendar_decoded(event, "DTSTAMP")),
        image=_icalendar_optional(event, "IMAGE"),
        attach=_icalendar_optional(event, "ATTACH"),
        alarms=tuple(
            ParsedAlarm(
                action=str(alarm.get("ACTION", "")),
                trigger=alarm_trigger(_icalendar_decoded(alarm, "TRIGGER")),
                description=_icalendar_optional(alarm, "DESCRIPTION"),
            )
            for alarm in event.subcomponents
            if alarm.name == "VALARM"
        ),
    )


# --- vobject (Radicale) --------------------------------------------------------------------


def parse_vobject(data: bytes) -> ParsedCalendar:
    """`readOne(text).validate(raiseException=True)`, the strictest path vobject has."""
    try:
        calendar = vobject.readOne(_text(data))
        calendar.validate(raiseException=True)
    except Exception as exc:  # vobject raises ParseError, ValidateError, ValueError, ...
        raise ParserRejected("vobject", f"{type(exc).__name__}: {exc}") from exc
    props = {
        name.upper(): _vobject_text(lines[0].value)
        for name, lines in calendar.contents.items()
        if lines and not isinstance(lines[0], vobject.base.Component)
    }
    events = tuple(_vobject_event(event) for event in calendar.contents.get("vevent", []))
    return ParsedCalendar(props, events)


def _vobject_text(value: object) -> str:
    if isinstance(value, timedelta):
        return duration_text(value)
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _vobject_value(component: Any, name: str) -> Any:
    lines = component.contents.get(name)
    return lines[0].value if lines else None


def _vobject_event(event: Any) -> ParsedEvent:
    end = _vobject_value(event, "dtend")
    sequence = _vobject_value(event, "sequence")
    categories = tuple(str(item) for line in event.contents.get("categories", []) for item in line.value)
    return ParsedEvent(
        uid=str(_vobject_value(event, "uid") or ""),
        summary=_str_or_none(_vobject_value(event, "summary")),
        description=_str_or_none(_vobject_value(event, "description")),
        location=_str_or_none(_vobject_value(event, "location")),
        url=_str_or_none(_vobject_value(event, "url")),
        start=start("vobject", _vobject_value(event, "uid"), _vobject_value(event, "dtstart")),
        end=None if end is None else instant(end),
        categories=categories,
        transp=_str_or_none(_vobject_value(event, "transp")),
        status=_str_or_none(_vobject_value(event, "status")),
        sequence=None if sequence is None else int(sequence),
        last_modified=utc(_vobject_value(event, "last-modified")),
        dtstamp=utc(_vobject_value(event, "dtstamp")),
        image=_str_or_none(_vobject_value(event, "image")),
        attach=_str_or_none(_vobject_value(event, "attach")),
        alarms=tuple(
            ParsedAlarm(
                action=str(_vobject_value(alarm, "action")),
                trigger=alarm_trigger(_vobject_value(alarm, "trigger")),
                description=_str_or_none(_vobject_value(alarm, "description")),
            )
            for alarm in event.contents.get("valarm", [])
        ),
    )


# --- ical (Home Assistant) -----------------------------------------------------------------


def parse_ical(data: bytes) -> ParsedCalendar:
    """`IcsCalendarStream.calendar_from_ics`: pydantic-strict, as Home Assistant's calendars use it."""
    try:
        calendar = IcsCalendarStream.calendar_from_ics(_text(data))
    except Exception as exc:  # CalendarParseError, pydantic ValidationError, ...
        raise ParserRejected("ical", f"{type(exc).__name__}: {exc}") from exc
    props: dict[str, str] = {"VERSION": calendar.version, "PRODID": calendar.prodid}
    if calendar.name:
        props["NAME"] = calendar.name[0]
    if calendar.description:
        props["DESCRIPTION"] = calendar.description[0]
    if calendar.refresh_interval is not None:
        props["REFRESH-INTERVAL"] = duration_text(calendar.refresh_interval)
    if calendar.method:
        props["METHOD"] = calendar.method
    for extra in calendar.extras:
        props.setdefault(extra.name.upper(), extra.value)
    return ParsedCalendar(props, tuple(_ical_event(event) for event in calendar.events))


def _enum_text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _ical_event(event: HaEvent) -> ParsedEvent:
    return ParsedEvent(
        uid=event.uid,
        summary=event.summary,
        description=event.description,
        location=event.location,
        url=_str_or_none(event.url),
        start=start("ical", event.uid, event.dtstart),
        end=None if event.dtend is None else instant(event.dtend),
        categories=tuple(event.categories),
        transp=_enum_text(event.transparency),
        status=_enum_text(event.status),
        sequence=event.sequence,
        last_modified=utc(event.last_modified),
        dtstamp=utc(event.dtstamp),
        image=event.image[0].uri if event.image else None,
        attach=event.attach[0].uri if event.attach else None,
        alarms=tuple(
            ParsedAlarm(
                action=str(_enum_text(alarm.action)),
                trigger=alarm_trigger(alarm.trigger),
                description=alarm.description,
            )
            for alarm in event.alarm
        ),
    )
