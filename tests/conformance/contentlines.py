"""Byte-level reading of an iCalendar stream: physical lines, unfolding, content-line syntax.

Works on bytes, not text, because the defects that matter most (bare LF, over-long lines, folds that
split a UTF-8 character) disappear once a file has been decoded and unfolded the way most parsers do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_OCTETS = 75

_PHYSICAL = re.compile(rb"([^\r\n]*)(\r\n|\n|\r|$)")
_NAME = r"[A-Za-z0-9-]+"
_PARAM_VALUE = r'"[^"\x00-\x08\x0a-\x1f\x7f]*"|[^";:,\x00-\x08\x0a-\x1f\x7f]*'
_PARAM = rf"{_NAME}=(?:{_PARAM_VALUE})(?:,(?:{_PARAM_VALUE}))*"
_CONTENT_LINE = re.compile(rf"(?P<name>{_NAME})(?P<params>(?:;{_PARAM})*):(?P<value>.*)", re.DOTALL)
_ONE_PARAM = re.compile(rf";(?P<name>{_NAME})=(?P<value>(?:{_PARAM_VALUE})(?:,(?:{_PARAM_VALUE}))*)")


@dataclass(frozen=True)
class ContentLine:
    """One unfolded property: upper-case name, upper-case parameter names, raw (still escaped) value."""

    line: int
    name: str
    params: dict[str, str]
    value: str


Report = Callable[[int, str, str], None]
"""Called as report(line, code, message) for each error found while reading."""


def read_content_lines(data: bytes, report: Report) -> list[ContentLine]:
    """Check the physical layer, unfold at byte level and parse every logical line.

    Lines that fail are reported and dropped so that the semantic checks still run on the rest.
    """
    logical: list[tuple[int, bytearray]] = []
    for number, (body, ending) in enumerate(_physical_lines(data), start=1):
        if ending != b"\r\n":
            shown = {b"\n": "bare LF", b"\r": "bare CR", b"": "no line break"}[ending]
            report(number, "CRLF", f"line does not end in CRLF ({shown})")
        if len(body) > MAX_OCTETS:
            report(number, "LINE_LENGTH", f"{len(body)} octets, more than {MAX_OCTETS}")
        if body[:1] in (b" ", b"\t"):
            if not logical:
                report(number, "CONTENT_LINE", "continuation line with nothing to continue")
                continue
            if body[1:2] and 0x80 <= body[1] <= 0xBF:
                report(number, "FOLD_SPLITS_UTF8", "fold splits a UTF-8 multi-byte character")
            logical[-1][1].extend(body[1:])
        elif body:
            logical.append((number, bytearray(body)))
        else:
            report(number, "CONTENT_LINE", "empty line")
    return [parsed for number, raw in logical if (parsed := _parse(number, bytes(raw), report))]


def _physical_lines(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split keeping each line's terminator, so a missing or wrong one can be reported."""
    lines = [(m.group(1), m.group(2)) for m in _PHYSICAL.finditer(data)]
    while lines and lines[-1] == (b"", b""):
        lines.pop()
    return lines


def _parse(number: int, raw: bytes, report: Report) -> ContentLine | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report(number, "INVALID_UTF8", f"invalid UTF-8 at byte {exc.start} of the unfolded line")
        return None
    match = _CONTENT_LINE.fullmatch(text)
    if match is None:
        report(
            number,
            "CONTENT_LINE",
            f"not a content line (raw newline inside a value?): {text[:40]!r}",
        )
        return None
    params = {p.group("name").upper(): p.group("value") for p in _ONE_PARAM.finditer(match["params"])}
    return ContentLine(number, match["name"].upper(), params, match["value"])
