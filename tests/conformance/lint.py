"""A strict iCalendar linter (stdlib only) for what real parsers let through silently.

Every parser we can run accepts bare LF, over-long lines, unescaped commas, missing DTSTAMP, TZID
without VTIMEZONE and inclusive all-day ends, and then either ignores or mangles them; Google,
Apple and Outlook are stricter in ways we cannot run offline. So the feed must be correct by
construction and this linter is where "correct" is written down.

Error codes: SIZE, CRLF, LINE_LENGTH, FOLD_SPLITS_UTF8, INVALID_UTF8, CONTENT_LINE, STRUCTURE,
TEXT_ESCAPE, VERSION, PRODID, MISSING_UID, DUPLICATE_UID, MISSING_DTSTAMP, DTSTAMP_NOT_UTC,
MISSING_DTSTART, DATE_SYNTAX, VALUE_TYPE_MISMATCH, DTEND_NOT_AFTER_DTSTART, DTEND_AND_DURATION,
DURATION_SYNTAX, TZID_NO_VTIMEZONE, TZID_WITH_Z, VALARM, REFRESH_INTERVAL, PUBLISHED_TTL, SEQUENCE.
Warning codes: NO_CALNAME, NO_REFRESH_HINT, METHOD, FLOATING_TIME.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from .contentlines import ContentLine, read_content_lines
from .values import (
    comparable_instant,
    is_duration,
    parse_date,
    parse_date_time,
    text_error,
)

Severity = Literal["error", "warning"]

TEXT_PROPERTIES = frozenset(
    {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "NAME", "X-WR-CALNAME", "X-WR-CALDESC", "CONTACT"}
)
LIST_TEXT_PROPERTIES = frozenset({"CATEGORIES", "RESOURCES"})
DATE_TIME_PROPERTIES = frozenset(
    {"DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE", "DTSTAMP", "LAST-MODIFIED", "CREATED"}
)
UTC_ONLY_PROPERTIES = frozenset({"DTSTAMP", "LAST-MODIFIED", "CREATED"})


@dataclass(frozen=True)
class Finding:
    """One problem at a 1-based physical line (the first line of a folded property)."""

    severity: Severity
    line: int
    code: str
    message: str


@dataclass
class _Component:
    name: str
    line: int
    props: list[ContentLine] = field(default_factory=list)
    children: list[_Component] = field(default_factory=list)

    def all(self, name: str) -> list[ContentLine]:
        return [p for p in self.props if p.name == name]

    def first(self, name: str) -> ContentLine | None:
        found = self.all(name)
        return found[0] if found else None


class _Linter:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, line: int, code: str, message: str) -> None:
        self.findings.append(Finding("error", line, code, message))

    def warn(self, line: int, code: str, message: str) -> None:
        self.findings.append(Finding("warning", line, code, message))

    def run(self, data: bytes, max_bytes: int) -> list[Finding]:
        if len(data) > max_bytes:
            self.error(1, "SIZE", f"{len(data)} bytes, more than the budget of {max_bytes}")
        lines = read_content_lines(data, self.error)
        for calendar in self.build_tree(lines):
            self.check_calendar(calendar)
        return sorted(self.findings, key=lambda f: f.line)

    def build_tree(self, lines: list[ContentLine]) -> list[_Component]:
        """Nest components by BEGIN/END, reporting imbalance; returns the top-level VCALENDARs."""
        roots: list[_Component] = []
        stack: list[_Component] = []
        for prop in lines:
            if prop.name == "BEGIN":
                component = _Component(prop.value.upper(), prop.line)
                if stack:
                    stack[-1].children.append(component)
                elif component.name == "VCALENDAR":
                    roots.append(component)
                else:
                    self.error(prop.line, "STRUCTURE", f"{component.name} outside VCALENDAR")
                stack.append(component)
            elif prop.name == "END":
                if not stack or stack[-1].name != prop.value.upper():
                    open_name = stack[-1].name if stack else "nothing"
                    self.error(prop.line, "STRUCTURE", f"END:{prop.value} while {open_name} is open")
                    continue
                stack.pop()
            elif stack:
                stack[-1].props.append(prop)
            else:
                self.error(prop.line, "STRUCTURE", f"{prop.name} outside any component")
        for component in stack:
            self.error(component.line, "STRUCTURE", f"BEGIN:{component.name} never ended")
        if not roots:
            self.error(1, "STRUCTURE", "no VCALENDAR")
        return roots

    def check_calendar(self, calendar: _Component) -> None:
        line = calendar.line
        versions = calendar.all("VERSION")
        if [v.value for v in versions] != ["2.0"]:
            self.error(line, "VERSION", "VCALENDAR needs exactly one VERSION:2.0")
        if len(calendar.all("PRODID")) != 1:
            self.error(line, "PRODID", "VCALENDAR needs exactly one PRODID")
        for name in ("NAME", "X-WR-CALNAME"):
            if calendar.first(name) is None:
                self.warn(line, "NO_CALNAME", f"no {name}: some apps then show the URL as the name")
        for name in ("REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
            if calendar.first(name) is None:
                self.warn(line, "NO_REFRESH_HINT", f"no {name}: clients poll at their default rate")
        if (method := calendar.first("METHOD")) is not None:
            self.warn(method.line, "METHOD", "METHOD makes iTIP rules apply (PUBLISH needs ORGANIZER)")
        for prop in calendar.all("REFRESH-INTERVAL"):
            if prop.params.get("VALUE", "").upper() != "DURATION" or not is_duration(prop.value):
                self.error(prop.line, "REFRESH_INTERVAL", "must be REFRESH-INTERVAL;VALUE=DURATION:<dur>")
        for prop in calendar.all("X-PUBLISHED-TTL"):
            if not is_duration(prop.value):
                self.error(prop.line, "PUBLISHED_TTL", f"{prop.value!r} is not a duration")
        self.check_text(calendar)
        tzids = {tzid.value for tz in calendar.children if tz.name == "VTIMEZONE" for tzid in tz.all("TZID")}
        seen_uids: dict[tuple[str, str], int] = {}
        for child in calendar.children:
            if child.name != "VTIMEZONE":  # its DTSTARTs are local wall times by definition
                self.check_date_times(child, tzids)
            if child.name == "VEVENT":
                self.check_event(child, seen_uids)

    def check_text(self, component: _Component) -> None:
        for prop in component.props:
            if prop.name in TEXT_PROPERTIES or prop.name in LIST_TEXT_PROPERTIES:
                problem = text_error(prop.value, list_valued=prop.name in LIST_TEXT_PROPERTIES)
                if problem is not None:
                    self.error(prop.line, "TEXT_ESCAPE", f"{prop.name}: {problem}")
        for child in component.children:
            self.check_text(child)

    def check_event(self, event: _Component, seen_uids: dict[tuple[str, str], int]) -> None:
        uids = event.all("UID")
        if len(uids) != 1 or not uids[0].value:
            self.error(event.line, "MISSING_UID", "VEVENT needs exactly one non-empty UID")
        else:
            recurrence = event.first("RECURRENCE-ID")
            key = (uids[0].value, recurrence.value if recurrence else "")
            if key in seen_uids:
                self.error(
                    uids[0].line,
                    "DUPLICATE_UID",
                    f"UID {key[0]!r} already used by the VEVENT at line {seen_uids[key]}",
                )
            seen_uids.setdefault(key, event.line)
        stamps = event.all("DTSTAMP")
        if len(stamps) != 1:
            self.error(event.line, "MISSING_DTSTAMP", "VEVENT needs exactly one DTSTAMP")
        starts = event.all("DTSTART")
        if len(starts) != 1:
            self.error(event.line, "MISSING_DTSTART", "VEVENT needs exactly one DTSTART")
        if (end := event.first("DTEND")) is not None:
            if event.first("DURATION") is not None:
                self.error(end.line, "DTEND_AND_DURATION", "DTEND and DURATION are exclusive")
            if len(starts) == 1:
                self.check_end_after_start(starts[0], end)
        for duration in event.all("DURATION"):
            if not is_duration(duration.value):
                self.error(duration.line, "DURATION_SYNTAX", f"{duration.value!r} is not a duration")
        for sequence in event.all("SEQUENCE"):
            if not sequence.value.isascii() or not sequence.value.isdigit():
                self.error(sequence.line, "SEQUENCE", f"{sequence.value!r} is not a non-negative integer")
        for alarm in event.children:
            if alarm.name == "VALARM":
                self.check_alarm(alarm)

    def check_end_after_start(self, start: ContentLine, end: ContentLine) -> None:
        start_value, end_value = _decode(start), _decode(end)
        if start_value is None or end_value is None:
            return  # unparseable (reported as DATE_SYNTAX) or a zone that cannot be resolved
        if isinstance(start_value, datetime) != isinstance(end_value, datetime):
            self.error(end.line, "VALUE_TYPE_MISMATCH", "DTSTART and DTEND must both be DATE or DATE-TIME")
        elif not _later(end_value, start_value):
            self.error(
                end.line,
                "DTEND_NOT_AFTER_DTSTART",
                "DTEND must be later than DTSTART (all-day DTEND is exclusive)",
            )

    def check_alarm(self, alarm: _Component) -> None:
        action, trigger = alarm.first("ACTION"), alarm.first("TRIGGER")
        if action is None or trigger is None:
            self.error(alarm.line, "VALARM", "VALARM needs ACTION and TRIGGER")
        if action is not None and action.value.upper() == "DISPLAY" and alarm.first("DESCRIPTION") is None:
            self.error(alarm.line, "VALARM", "ACTION:DISPLAY needs DESCRIPTION")
        if trigger is not None:
            absolute = trigger.params.get("VALUE", "").upper() == "DATE-TIME"
            parsed = parse_date_time(trigger.value)
            if (absolute and (parsed is None or not parsed[1])) or (
                not absolute and not is_duration(trigger.value)
            ):
                self.error(trigger.line, "VALARM", f"TRIGGER {trigger.value!r} is malformed")

    def check_date_times(self, component: _Component, tzids: set[str]) -> None:
        for prop in component.props:
            if prop.name not in DATE_TIME_PROPERTIES:
                continue
            value_type = prop.params.get("VALUE", "DATE-TIME").upper()
            tzid = prop.params.get("TZID")
            for value in prop.value.split(",") if prop.name in {"EXDATE", "RDATE"} else [prop.value]:
                self.check_one_date_time(prop, value, value_type, tzid)
            if tzid is not None and tzid not in tzids:
                self.error(prop.line, "TZID_NO_VTIMEZONE", f"TZID={tzid} has no matching VTIMEZONE")
        for child in component.children:
            self.check_date_times(child, tzids)

    def check_one_date_time(self, prop: ContentLine, value: str, value_type: str, tzid: str | None) -> None:
        if value_type == "DATE":
            if parse_date(value) is None:
                self.error(prop.line, "DATE_SYNTAX", f"{prop.name} {value!r} is not a DATE (YYYYMMDD)")
            return
        parsed = parse_date_time(value)
        if parsed is None:
            self.error(
                prop.line, "DATE_SYNTAX", f"{prop.name} {value!r} is not a DATE-TIME (YYYYMMDDTHHMMSS[Z])"
            )
            return
        utc = parsed[1]
        if prop.name in UTC_ONLY_PROPERTIES and not utc:
            code = "DTSTAMP_NOT_UTC" if prop.name == "DTSTAMP" else "DATE_SYNTAX"
            self.error(prop.line, code, f"{prop.name} must be UTC (ending in Z)")
        if tzid is not None and utc:
            self.error(prop.line, "TZID_WITH_Z", f"{prop.name} has TZID and a UTC 'Z' value")
        if tzid is None and not utc and prop.name not in UTC_ONLY_PROPERTIES:
            self.warn(prop.line, "FLOATING_TIME", f"{prop.name} is floating: apps disagree on its zone")


def _decode(prop: ContentLine) -> date | datetime | None:
    """DTSTART/DTEND as comparable values; DATE stays a date so type mismatches stay visible."""
    if prop.params.get("VALUE", "").upper() == "DATE":
        return parse_date(prop.value)
    parsed = parse_date_time(prop.value)
    if parsed is None:
        return None
    return comparable_instant(parsed[0], parsed[1], prop.params.get("TZID"))


def _later(end: date | datetime, start: date | datetime) -> bool:
    """Compare two values already known to be of one kind: both dates or both aware instants."""
    if isinstance(end, datetime) or isinstance(start, datetime):
        return isinstance(end, datetime) and isinstance(start, datetime) and end > start
    return end > start


def lint(data: bytes, *, max_bytes: int = 1_000_000) -> list[Finding]:
    """All findings for one feed, sorted by line; an empty list means the feed is clean."""
    return _Linter().run(data, max_bytes)
