"""Proves the referee can fail: a clean feed passes everything, each single defect is caught.

The good sample is written out by hand (logical lines below, folded at 75 octets on UTF-8
boundaries by `_serialise`). Each defect sample breaks exactly one thing in it, and the tests check
both the linter's code and what the calendar-clients research says the real parser does with it,
which is how we know the adapters really run those parsers.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conformance import native_adapters
from tests.conformance.lint import Finding, lint
from tests.conformance.model import ParsedAlarm, ParsedEvent
from tests.conformance.parsers import PARSERS, HarnessSetupError, ParserRejected, parse_all

SUMMARY = 'Severance, S02E03; "Who Is Alive?" \\ back 📺 東京 שלום עולם'
LOCATION = "Apple TV+, 4K; Dolby"
DESCRIPTION = "\n".join(
    f"Paragraph {n}: Mark, Helly; Irving \\ Dylan go back to Lumon 🎬 — 東京の夜 — مرحبا بالعالم."
    for n in range(40)
)
ALARM_TEXT = "Severance starts in 15 minutes"
POSTER = "https://image.tmdb.org/t/p/w500/lFf6LLrQjYldcZItzOkGmMMigP7.jpg"
CAL_NAME = "Airdate — Ana’s shows 📺"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


GOOD_LINES = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Airdate//Conformance sample//EN",
    "CALSCALE:GREGORIAN",
    f"NAME:{CAL_NAME}",
    f"X-WR-CALNAME:{CAL_NAME}",
    "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    "X-PUBLISHED-TTL:PT1H",
    "BEGIN:VEVENT",
    "UID:episode-1001@airdate.test",
    "DTSTAMP:20250701T120000Z",
    "DTSTART:20250710T170000Z",
    "DTEND:20250710T180000Z",
    f"SUMMARY:{_escape(SUMMARY)}",
    f"DESCRIPTION:{_escape(DESCRIPTION)}",
    f"LOCATION:{_escape(LOCATION)}",
    "URL:https://www.themoviedb.org/tv/95396",
    "CATEGORIES:TV,Drama",
    "TRANSP:TRANSPARENT",
    "STATUS:CONFIRMED",
    "SEQUENCE:3",
    "LAST-MODIFIED:20250701T110000Z",
    f"IMAGE;VALUE=URI;DISPLAY=BADGE:{POSTER}",
    f"ATTACH;FMTTYPE=image/jpeg:{POSTER}",
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    "TRIGGER:-PT15M",
    f"DESCRIPTION:{ALARM_TEXT}",
    "END:VALARM",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:movie-2002@airdate.test",
    "DTSTAMP:20250701T120000Z",
    "DTSTART;VALUE=DATE:20250704",
    "DTEND;VALUE=DATE:20250705",
    "SUMMARY:28 Years Later (digital release)",
    "TRANSP:TRANSPARENT",
    "END:VEVENT",
    "END:VCALENDAR",
]


def _fold(line: str) -> bytes:
    """Fold at 75 octets, never inside a UTF-8 character (continuations carry a leading space)."""
    out, current, limit = [], b"", 75
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > limit:
            out.append(current)
            current, limit = b" ", 75
        current += encoded
    out.append(current)
    return b"\r\n".join(out)


def _serialise(lines: list[str], newline: bytes = b"\r\n") -> bytes:
    return b"".join(_fold(line).replace(b"\r\n", newline) + newline for line in lines)


GOOD = _serialise(GOOD_LINES)

EPISODE = ParsedEvent(
    uid="episode-1001@airdate.test",
    summary=SUMMARY,
    description=DESCRIPTION,
    location=LOCATION,
    url="https://www.themoviedb.org/tv/95396",
    start=datetime(2025, 7, 10, 17, 0, tzinfo=UTC),
    end=datetime(2025, 7, 10, 18, 0, tzinfo=UTC),
    categories=("TV", "Drama"),
    transp="TRANSPARENT",
    status="CONFIRMED",
    sequence=3,
    last_modified=datetime(2025, 7, 1, 11, 0, tzinfo=UTC),
    dtstamp=datetime(2025, 7, 1, 12, 0, tzinfo=UTC),
    image=POSTER,
    attach=POSTER,
    alarms=(ParsedAlarm("DISPLAY", timedelta(minutes=-15), ALARM_TEXT),),
)
MOVIE = ParsedEvent(
    uid="movie-2002@airdate.test",
    summary="28 Years Later (digital release)",
    description=None,
    location=None,
    url=None,
    start=date(2025, 7, 4),
    end=date(2025, 7, 5),
    categories=(),
    transp="TRANSPARENT",
    status=None,
    sequence=None,
    last_modified=None,
    dtstamp=datetime(2025, 7, 1, 12, 0, tzinfo=UTC),
    image=None,
    attach=None,
    alarms=(),
)
CALENDAR_PROPS = {
    "VERSION": "2.0",
    "PRODID": "-//Airdate//Conformance sample//EN",
    "NAME": CAL_NAME,
    "X-WR-CALNAME": CAL_NAME,
    "REFRESH-INTERVAL": "PT1H",
    "X-PUBLISHED-TTL": "PT1H",
}


def _as_calcurse_sees(event: ParsedEvent) -> ParsedEvent:
    """calcurse keeps only summary, description, location and the time span."""
    return dataclasses.replace(
        event,
        uid="",
        url=None,
        categories=None,
        transp=None,
        status=None,
        sequence=None,
        last_modified=None,
        dtstamp=None,
        image=None,
        attach=None,
        alarms=None,
    )


def _expected(parser: str) -> tuple[dict[str, str], list[ParsedEvent]]:
    """What each parser must decode from GOOD; calcurse keeps no UID and only a few fields."""
    if parser == "calcurse":
        return {}, [_as_calcurse_sees(event) for event in (MOVIE, EPISODE)]
    return CALENDAR_PROPS, [EPISODE, MOVIE]


def _by_identity(events: tuple[ParsedEvent, ...]) -> list[ParsedEvent]:
    return sorted(events, key=lambda e: (e.uid, str(e.start)))


def _codes(findings: list[Finding], severity: str = "error") -> set[str]:
    return {f.code for f in findings if f.severity == severity}


def test_good_sample_is_folded_on_character_boundaries() -> None:
    """Guards the fixture itself: a long multi-byte DESCRIPTION really is folded."""
    physical = GOOD.split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert sum(line.startswith(b" ") for line in physical) > 40
    assert len(GOOD) > 4000


def test_linter_finds_nothing_in_the_good_sample() -> None:
    assert lint(GOOD) == []


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_every_parser_decodes_the_good_sample_exactly(parser: str) -> None:
    calendar = PARSERS[parser](GOOD)
    props, events = _expected(parser)
    assert {name: calendar.props.get(name) for name in props} == props
    assert _by_identity(calendar.events) == _by_identity(tuple(events))


def test_parse_all_runs_every_parser() -> None:
    assert set(parse_all(GOOD)) == set(PARSERS)


# --- one defect at a time ------------------------------------------------------------------


def _replace(old: str, *new: str) -> list[str]:
    index = GOOD_LINES.index(old)
    return [*GOOD_LINES[:index], *new, *GOOD_LINES[index + 1 :]]


MOVIE_SUMMARY = "SUMMARY:28 Years Later (digital release)"
EPISODE_START = "DTSTART:20250710T170000Z"


def _rejected_by(parser: str, data: bytes) -> str:
    with pytest.raises(ParserRejected) as caught:
        PARSERS[parser](data)
    return str(caught.value)


def test_bare_lf_is_caught_only_by_the_linter() -> None:
    data = _serialise(GOOD_LINES, newline=b"\n")
    assert _codes(lint(data)) == {"CRLF"}
    assert all(f.line == n for n, f in enumerate(lint(data), start=1))
    assert set(parse_all(data)) == set(PARSERS)  # every real parser swallows it silently


def test_missing_final_crlf_is_an_error() -> None:
    findings = lint(GOOD[:-2])
    assert [(f.code, f.line) for f in findings] == [("CRLF", GOOD.count(b"\r\n"))]


def test_unescaped_comma_truncates_in_vobject_and_is_skipped_by_calcurse() -> None:
    data = _serialise(_replace(MOVIE_SUMMARY, "SUMMARY:Release party, v2.0 Köln"))
    assert _codes(lint(data)) == {"TEXT_ESCAPE"}
    vobject_events = PARSERS["vobject"](data).events
    assert next(e.summary for e in vobject_events if e.uid == MOVIE.uid) == "Release party"
    assert "malformed summary" in _rejected_by("calcurse", data)
    icaljs_events = PARSERS["icaljs"](data).events
    assert next(e.summary for e in icaljs_events if e.uid == MOVIE.uid) == "Release party, v2.0 Köln"


def test_unescaped_semicolon_is_skipped_by_calcurse() -> None:
    data = _serialise(_replace(MOVIE_SUMMARY, "SUMMARY:Release; Köln"))
    assert _codes(lint(data)) == {"TEXT_ESCAPE"}
    assert "malformed summary" in _rejected_by("calcurse", data)


def test_raw_newline_in_a_value_kills_the_whole_file_in_strict_parsers() -> None:
    data = _serialise(_replace(MOVIE_SUMMARY, MOVIE_SUMMARY, "DESCRIPTION:first line", "second line"))
    assert _codes(lint(data)) == {"CONTENT_LINE"}
    assert "invalid line" in _rejected_by("icaljs", data)
    for parser in ("vobject", "ical", "libical"):
        _rejected_by(parser, data)


@pytest.mark.parametrize(
    ("dropped", "code", "strict_parsers"),
    [
        ("DTSTAMP:20250701T120000Z", "MISSING_DTSTAMP", ("icalendar", "vobject")),
        ("UID:movie-2002@airdate.test", "MISSING_UID", ("icalendar", "vobject")),
    ],
)
def test_missing_required_property_is_caught_by_opt_in_validators(
    dropped: str, code: str, strict_parsers: tuple[str, ...]
) -> None:
    index = len(GOOD_LINES) - 1 - GOOD_LINES[::-1].index(dropped)  # the movie's copy
    data = _serialise([*GOOD_LINES[:index], *GOOD_LINES[index + 1 :]])
    assert _codes(lint(data)) == {code}
    for parser in strict_parsers:
        assert dropped.split(":")[0] in _rejected_by(parser, data)
    PARSERS["icaljs"](data)  # Thunderbird never notices


def test_duplicate_uid_is_an_error() -> None:
    data = _serialise(_replace("UID:movie-2002@airdate.test", "UID:episode-1001@airdate.test"))
    assert _codes(lint(data)) == {"DUPLICATE_UID"}
    uids = [e.uid for e in PARSERS["icalendar"](data).events]
    assert uids == ["episode-1001@airdate.test"] * 2  # accepted silently: clients then keep one


def test_fold_splitting_a_utf8_character_mangles_decode_then_unfold_parsers() -> None:
    summary = "SUMMARY:" + "x" * 66 + "東京"  # 東 occupies octets 75..77 of the line
    raw = summary.encode()
    split = raw[:75] + b"\r\n " + raw[75:]
    lines = _serialise(_replace(MOVIE_SUMMARY, "@@"))
    data = lines.replace(b"@@", split)
    findings = lint(data)
    assert _codes(findings) == {"FOLD_SPLITS_UTF8"}
    expected = summary.removeprefix("SUMMARY:")
    for parser in ("icaljs", "icalendar", "vobject", "ical"):
        decoded = next(e.summary for e in PARSERS[parser](data).events if e.start == MOVIE.start)
        assert decoded != expected and "\ufffd" in (decoded or ""), parser
    for parser in ("libical", "calcurse"):  # byte-level unfolding repairs it
        decoded = next(e.summary for e in PARSERS[parser](data).events if e.start == MOVIE.start)
        assert decoded == expected, parser


def test_tzid_without_vtimezone_is_rejected_by_icalendar() -> None:
    data = _serialise(_replace(EPISODE_START, "DTSTART;TZID=Europe/Berlin:20250710T190000"))
    assert _codes(lint(data)) == {"TZID_NO_VTIMEZONE"}
    assert "Europe/Berlin" in _rejected_by("icalendar", data)


def test_all_day_end_equal_to_start_is_dropped_by_calcurse() -> None:
    data = _serialise(_replace("DTEND;VALUE=DATE:20250705", "DTEND;VALUE=DATE:20250704"))
    assert _codes(lint(data)) == {"DTEND_NOT_AFTER_DTSTART"}
    assert "end must be later than start" in _rejected_by("calcurse", data)


def test_missing_version_makes_calcurse_import_nothing() -> None:
    data = _serialise([line for line in GOOD_LINES if line != "VERSION:2.0"])
    assert _codes(lint(data)) == {"VERSION"}
    assert "imported 0 of 2" in _rejected_by("calcurse", data)


def test_iso_dashes_in_date_time_are_rejected() -> None:
    data = _serialise(_replace(EPISODE_START, "DTSTART:2025-07-10T17:00:00Z"))
    assert "DATE_SYNTAX" in _codes(lint(data))
    for parser in ("icaljs", "vobject", "ical", "recurring_ical_events", "icalendar"):
        _rejected_by(parser, data)


def test_refresh_interval_with_a_colon_is_rejected() -> None:
    data = _serialise(
        _replace("REFRESH-INTERVAL;VALUE=DURATION:PT1H", "REFRESH-INTERVAL:VALUE=DURATION:PT1H")
    )
    assert _codes(lint(data)) == {"REFRESH_INTERVAL"}
    for parser in ("icalendar", "ical", "libical"):
        _rejected_by(parser, data)


def test_display_alarm_without_description_is_rejected_by_home_assistant() -> None:
    data = _serialise(_replace(f"DESCRIPTION:{ALARM_TEXT}"))
    assert _codes(lint(data)) == {"VALARM"}
    assert "description" in _rejected_by("ical", data).lower()


def test_feed_over_one_megabyte_is_an_error() -> None:
    episode = GOOD_LINES[GOOD_LINES.index("BEGIN:VEVENT") : GOOD_LINES.index("END:VEVENT") + 1]
    copies = [line.replace("episode-1001@", f"episode-{n}@") for n in range(250) for line in episode]
    data = _serialise([*GOOD_LINES[:8], *copies, "END:VCALENDAR"])
    assert len(data) > 1_000_000
    assert _codes(lint(data)) == {"SIZE"}
    assert "SIZE" not in _codes(lint(GOOD, max_bytes=len(GOOD)))


# --- the linter's other rules, one defect each -------------------------------------------------

LONG_LINE = "COMMENT:" + "x" * 80
ALARM_START = ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", f"DESCRIPTION:{ALARM_TEXT}"]


@pytest.mark.parametrize(
    ("old", "new", "severity", "codes"),
    [
        (MOVIE_SUMMARY, [MOVIE_SUMMARY, "DTSTART:20250704T000000Z"], "error", {"MISSING_DTSTART"}),
        (MOVIE_SUMMARY, ["SUMMARY:a \\x trailing backslash escape"], "error", {"TEXT_ESCAPE"}),
        ("CATEGORIES:TV,Drama", ["CATEGORIES:TV,Drama;Crime"], "error", {"TEXT_ESCAPE"}),
        (EPISODE_START, ["DTSTART;TZID=UTC:20250710T170000Z"], "error", {"TZID_WITH_Z", "TZID_NO_VTIMEZONE"}),
        (
            "DTEND:20250710T180000Z",
            ["DTEND:20250710T180000Z", "DURATION:PT1H"],
            "error",
            {"DTEND_AND_DURATION"},
        ),
        ("DTEND:20250710T180000Z", ["DTEND;VALUE=DATE:20250711"], "error", {"VALUE_TYPE_MISMATCH"}),
        ("DTEND:20250710T180000Z", ["DTEND:20250710T160000Z"], "error", {"DTEND_NOT_AFTER_DTSTART"}),
        ("DTSTAMP:20250701T120000Z", ["DTSTAMP:20250701T120000"], "error", {"DTSTAMP_NOT_UTC"}),
        ("DTEND;VALUE=DATE:20250705", ["DTEND;VALUE=DATE:20250231"], "error", {"DATE_SYNTAX"}),
        ("SEQUENCE:3", ["SEQUENCE:-1"], "error", {"SEQUENCE"}),
        ("X-PUBLISHED-TTL:PT1H", ["X-PUBLISHED-TTL:3600"], "error", {"PUBLISHED_TTL"}),
        (
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            ["REFRESH-INTERVAL;VALUE=DURATION:1h"],
            "error",
            {"REFRESH_INTERVAL"},
        ),
        ("TRIGGER:-PT15M", [], "error", {"VALARM"}),
        ("TRIGGER:-PT15M", ["TRIGGER:P"], "error", {"VALARM"}),
        ("VERSION:2.0", ["VERSION:2.0", "VERSION:2.0"], "error", {"VERSION"}),
        ("PRODID:-//Airdate//Conformance sample//EN", [], "error", {"PRODID"}),
        ("END:VALARM", [], "error", {"STRUCTURE"}),
        (MOVIE_SUMMARY, [LONG_LINE], "error", {"LINE_LENGTH"}),
        (MOVIE_SUMMARY, [MOVIE_SUMMARY, ""], "error", {"CONTENT_LINE"}),
        (EPISODE_START, ["DTSTART:20250710T170000"], "warning", {"FLOATING_TIME"}),
        (f"NAME:{CAL_NAME}", [], "warning", {"NO_CALNAME"}),
        ("X-PUBLISHED-TTL:PT1H", [], "warning", {"NO_REFRESH_HINT"}),
        ("CALSCALE:GREGORIAN", ["METHOD:PUBLISH"], "warning", {"METHOD"}),
    ],
)
def test_linter_rule(old: str, new: list[str], severity: str, codes: set[str]) -> None:
    index = GOOD_LINES.index(old)
    lines = [*GOOD_LINES[:index], *new, *GOOD_LINES[index + 1 :]]
    data = b"".join(line.encode() + b"\r\n" for line in lines)  # unfolded on purpose
    findings = [f for f in lint(data) if f.code != "LINE_LENGTH" or "LINE_LENGTH" in codes]
    assert {(f.severity, f.code) for f in findings} == {(severity, code) for code in codes}, findings


def test_invalid_utf8_is_reported_at_its_physical_line() -> None:
    data = GOOD.replace(b"SUMMARY:28 Years", b"SUMMARY:\xff28 Years")
    line = data[: data.index(b"\xff")].count(b"\r\n") + 1
    assert [(f.code, f.line) for f in lint(data)] == [("INVALID_UTF8", line)]


def test_folded_property_is_reported_at_its_first_physical_line() -> None:
    data = _serialise(_replace(f"LOCATION:{_escape(LOCATION)}", "LOCATION:" + "Köln, " * 30))
    line = data[: data.index(b"LOCATION:")].count(b"\r\n") + 1
    assert [(f.code, f.line) for f in lint(data)] == [("TEXT_ESCAPE", line)]


def test_missing_node_modules_fails_with_instructions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(native_adapters, "NODE_DIR", tmp_path)
    with pytest.raises(HarnessSetupError, match="npm ci"):
        PARSERS["icaljs"](GOOD)


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_event_without_start_is_never_given_a_made_up_one(parser: str) -> None:
    data = _serialise([line for line in GOOD_LINES if "VALUE=DATE:202507" not in line])
    assert _codes(lint(data)) == {"MISSING_DTSTART"}
    assert parser in _rejected_by(parser, data)
