"""Adapter over calcurse's own C importer, the strictest consumer of TEXT escaping and DTEND we have.

calcurse skips (rather than rejects) what it dislikes and imports nothing at all from a file without
VERSION, so the adapter turns "anything skipped" and "fewer items than VEVENTs" into rejections.
It keeps no UID, categories, stamps or alarm details: those fields are None (uid is "").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .model import HarnessSetupError, ParsedCalendar, ParsedEvent, ParserRejected
from .native_adapters import TIMEOUT_SECONDS

_REPORT = re.compile(rb"(\d+) apps? / (\d+) events? / \d+ todos? / (\d+) skipped")
_LOG = re.compile(rb"See (\S+calcurse_log\S*) for details")
_VEVENT = re.compile(rb"^BEGIN:VEVENT\r?$", re.MULTILINE | re.IGNORECASE)
_FOOTER = "\n-- \n"
_LOCATION = "Location: "
_DATE = r"\d\d/\d\d/\d{4}"
_NOTE = r"(?:>(?P<note>[0-9a-f]+) )?"
_APPOINTMENT = re.compile(rf"({_DATE}) @ (\d\d:\d\d) -> ({_DATE}) @ (\d\d:\d\d) ?{_NOTE}[|!](?P<summary>.*)")
_EVENT = re.compile(rf"({_DATE}) \[\d+\] (?:\{{1D -> (?P<until>{_DATE})\}} )?{_NOTE}(?P<summary>.*)")


def parse_calcurse(data: bytes) -> ParsedCalendar:
    """Import into a throw-away calcurse directory, then read back its `apts` file and notes."""
    calcurse = shutil.which("calcurse")
    if calcurse is None:
        raise HarnessSetupError("calcurse is not installed: run scripts/system-deps.sh")
    with tempfile.TemporaryDirectory(prefix="airdate-calcurse-") as tmp:
        feed = Path(tmp) / "feed.ics"
        feed.write_bytes(data)
        home = Path(tmp) / "calcurse"
        result = subprocess.run(
            [calcurse, "-D", str(home), "-i", str(feed)],
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            # calcurse stores local wall times, so make local = UTC; TMPDIR keeps its log in `tmp`.
            env={**os.environ, "TZ": "UTC", "TMPDIR": tmp},
            check=False,
        )
        _check_import(data, result)
        apts = home / "apts"
        lines = apts.read_text("utf-8", errors="replace").splitlines() if apts.exists() else []
        events = tuple(_item(line, home / "notes") for line in lines)
    return ParsedCalendar({}, events)


def _check_import(data: bytes, result: subprocess.CompletedProcess[bytes]) -> None:
    output = result.stdout + result.stderr
    reason = ""
    if (log := _LOG.search(output)) is not None:
        log_path = Path(log.group(1).decode())
        reason = log_path.read_text("utf-8", errors="replace").split("+\n")[-1].strip()
        log_path.unlink(missing_ok=True)
    report = _REPORT.search(output)
    if result.returncode != 0 or report is None:
        raise ParserRejected(
            "calcurse", f"exit {result.returncode}: {reason or output.decode(errors='replace')}"
        )
    imported = int(report.group(1)) + int(report.group(2))
    skipped = int(report.group(3))
    expected = len(_VEVENT.findall(data))
    if skipped or imported != expected:
        raise ParserRejected(
            "calcurse",
            f"imported {imported} of {expected} VEVENTs, skipped {skipped}: "
            f"{reason or output.decode(errors='replace').strip()}",
        )


def _item(line: str, notes: Path) -> ParsedEvent:
    if (match := _APPOINTMENT.fullmatch(line)) is not None:
        start: date | datetime = _moment(match[1], match[2])
        end: date | datetime = _moment(match[3], match[4])
    elif (match := _EVENT.fullmatch(line)) is not None:
        start = _day(match[1])
        # A calcurse event covers whole days up to `until`; RFC 5545 ends are exclusive.
        end = _day(match["until"] or match[1]) + timedelta(days=1)
    else:
        raise HarnessSetupError(f"calcurse wrote a line this adapter does not understand: {line!r}")
    description, location = _note(notes / match["note"] if match["note"] else None)
    return ParsedEvent(
        uid="",
        summary=match["summary"],
        description=description,
        location=location,
        url=None,
        start=start,
        end=end,
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


def _note(path: Path | None) -> tuple[str | None, str | None]:
    """Split a calcurse note into (DESCRIPTION, LOCATION).

    calcurse stores DESCRIPTION as a note file, appends a "-- " footer with lines such as
    "Location: ..." and "Import: ...", and ends the file with a newline of its own.
    """
    if path is None:
        return None, None
    text = path.read_text("utf-8", errors="replace").removesuffix("\n")
    body, _, footer = ("\n" + text).partition(_FOOTER)
    location = next(
        (line.removeprefix(_LOCATION) for line in footer.split("\n") if line.startswith(_LOCATION)),
        None,
    )
    return (body[1:] if body else None), location


def _day(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%Y").date()


def _moment(day: str, clock: str) -> datetime:
    return datetime.strptime(f"{day} {clock}", "%m/%d/%Y %H:%M").replace(tzinfo=UTC)
