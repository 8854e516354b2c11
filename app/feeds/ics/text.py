"""Text made safe for any iCalendar parser, before the `icalendar` library escapes and folds it.

Why ours and not the library's: it escapes TEXT and folds lines correctly, but lets through (or
refuses) what some parsers choke on: control characters, a raw CR, and the Unicode line separators
that Python's `str.splitlines` based parsers would split a content line on.
"""

from __future__ import annotations

import re

# Characters a TEXT value may not carry (RFC 5545 §3.3.11 excludes CTLs but HTAB) plus the Unicode
# line breaks that Python's `str.splitlines` based parsers would split a content line on.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!#-~]+")


def text(value: str) -> str:
    """Multi-line text made safe for any parser: one kind of newline, no control characters."""
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", value))


def line(value: str) -> str:
    """Single-line text (titles, network): line breaks become spaces, since a SUMMARY is one line."""
    return " ".join(text(value).split("\n")).strip()


def uri(value: str | None) -> str | None:
    """A URI property value is written raw (no TEXT escaping applies), so anything odd is left out."""
    return value if value and _URI.fullmatch(value) else None


def paragraphs(*parts: str | None) -> str:
    """Blank-line separated; each part trimmed, since libical drops a value's leading whitespace."""
    return "\n\n".join(trimmed for part in parts if part and (trimmed := part.strip()))
