"""Adapters over parsers that are not Python: Mozilla ical.js (Node) and libical (C).

Both run as a child process on the feed's bytes and print the same JSON shape (see
node/dump.mjs and libical/dump.c), which `_calendar_from_json` turns into a ParsedCalendar.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .model import HarnessSetupError, ParsedAlarm, ParsedCalendar, ParsedEvent, ParserRejected
from .normalise import start, utc

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
LIBICAL_SOURCE = HERE / "libical" / "dump.c"
BUILD_DIR = HERE / ".build"
TIMEOUT_SECONDS = 60
REJECTED_EXIT = 2


def parse_icaljs(data: bytes) -> ParsedCalendar:
    """ical.js in lenient mode, exactly as Thunderbird's parser worker configures it."""
    node = shutil.which("node")
    if node is None:
        raise HarnessSetupError("node is not installed: run scripts/system-deps.sh")
    if not (NODE_DIR / "node_modules" / "ical.js").is_dir():
        raise HarnessSetupError(f"ical.js is not installed: run make test / npm ci --prefix {NODE_DIR}")
    return _calendar_from_json("icaljs", _run("icaljs", [node, str(NODE_DIR / "dump.mjs")], data))


def parse_libical(data: bytes) -> ParsedCalendar:
    """libical's parser; any X-LIC-ERROR it records anywhere in the tree rejects the feed."""
    decoded = _run("libical", [str(_libical_binary())], data)
    if decoded["errors"]:
        raise ParserRejected("libical", "; ".join(decoded["errors"]))
    return _calendar_from_json("libical", decoded)


def _libical_binary() -> Path:
    """Compile dump.c on first use; the binary's name carries the source hash so edits rebuild it."""
    digest = hashlib.sha256(LIBICAL_SOURCE.read_bytes()).hexdigest()[:16]
    binary = BUILD_DIR / f"libical-dump-{digest}"
    if binary.exists():
        return binary
    for tool in ("gcc", "pkg-config"):
        if shutil.which(tool) is None:
            raise HarnessSetupError(f"{tool} is not installed: run scripts/system-deps.sh")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libical"], capture_output=True, text=True, check=False
    )
    if flags.returncode != 0:
        raise HarnessSetupError(f"libical-dev is not installed (run scripts/system-deps.sh): {flags.stderr}")
    BUILD_DIR.mkdir(exist_ok=True)
    partial = binary.with_suffix(f".{os.getpid()}.partial")
    compiled = subprocess.run(
        ["gcc", "-O2", "-Wall", "-Werror", "-o", str(partial), str(LIBICAL_SOURCE), *flags.stdout.split()],
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        raise HarnessSetupError(f"compiling {LIBICAL_SOURCE.name} failed:\n{compiled.stderr}")
    partial.replace(binary)  # atomic, so parallel test workers never run a half-written binary
    return binary


def _run(parser: str, command: list[str], data: bytes) -> Any:
    result = subprocess.run(command, input=data, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    stderr = result.stderr.decode("utf-8", errors="replace").strip()
    if result.returncode == REJECTED_EXIT:
        raise ParserRejected(parser, stderr)
    if result.returncode != 0:
        raise HarnessSetupError(f"{parser} probe crashed (exit {result.returncode}): {stderr}")
    return json.loads(result.stdout.decode("utf-8", errors="replace"))


def _calendar_from_json(parser: str, decoded: dict[str, Any]) -> ParsedCalendar:
    return ParsedCalendar(dict(decoded["props"]), tuple(_event(parser, e) for e in decoded["events"]))


def _event(parser: str, raw: dict[str, Any]) -> ParsedEvent:
    return ParsedEvent(
        uid=raw["uid"] or "",
        summary=raw["summary"],
        description=raw["description"],
        location=raw["location"],
        url=raw["url"],
        start=start(parser, raw["uid"], _instant(raw["start"])),
        end=_instant(raw["end"]),
        categories=tuple(raw["categories"]),
        transp=raw["transp"],
        status=raw["status"],
        sequence=raw["sequence"],
        last_modified=utc(_instant(raw["last_modified"])),
        dtstamp=utc(_instant(raw["dtstamp"])),
        image=raw["image"],
        attach=raw["attach"],
        alarms=tuple(
            ParsedAlarm(
                action=alarm["action"] or "",
                trigger=_trigger(alarm),
                description=alarm["description"],
            )
            for alarm in raw["alarms"]
        ),
    )


def _trigger(alarm: dict[str, Any]) -> timedelta | datetime | None:
    """The probes print a relative trigger in seconds and an absolute one as a time like DTSTART."""
    if alarm["trigger_seconds"] is not None:
        return timedelta(seconds=alarm["trigger_seconds"])
    return utc(_instant(alarm["trigger_time"]))


def _instant(raw: dict[str, Any] | None) -> date | datetime | None:
    if raw is None:
        return None
    if "date" in raw:
        return date.fromisoformat(raw["date"])
    return datetime.fromtimestamp(raw["utc"], UTC)
