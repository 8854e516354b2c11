"""The whole way over real sockets: `airdate connect` against the sandbox, then a calendar app's poll.

The expected calendar is worked out here from the sandbox's own data (its `/_sandbox/dataset`), not
with the product's code, so a misreading in the product cannot hide in the test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar

from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.support.cli import env_for, run_airdate

LABELS = {
    "series_premiere": "Series premiere",
    "season_premiere": "Season premiere",
    "mid_season_premiere": "Mid-season premiere",
    "mid_season_finale": "Mid-season finale",
    "season_finale": "Season finale",
    "series_finale": "Series finale",
}


@dataclass(frozen=True)
class Expected:
    summary_start: str
    title: str | None  # the episode title the summary must end with, when it is a real title
    start: datetime | date


def expected_events(dataset: dict[str, Any], today: date, tz: ZoneInfo) -> list[Expected]:
    """The default feed: shows + theatrical movies, 7 days back to 60 ahead in the user's zone,
    no specials, binge drops grouped."""
    first, last = today - timedelta(days=7), today + timedelta(days=60)
    airings: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    for item in dataset["shows"]:
        aired = datetime.fromisoformat(item["first_aired"].replace("Z", "+00:00"))
        if item["episode"]["season"] == 0 or not first <= aired.astimezone(tz).date() <= last:
            continue
        key = (item["show"]["ids"]["trakt"], item["episode"]["season"], item["first_aired"])
        airings.setdefault(key, []).append(item)
    expected = []
    for items in airings.values():
        items.sort(key=lambda item: item["episode"]["number"])
        head = items[0]
        show, episode = head["show"]["title"], head["episode"]
        code = f"S{episode['season']:02d}E{episode['number']:02d}"
        aired = datetime.fromisoformat(head["first_aired"].replace("Z", "+00:00"))
        label = LABELS.get(episode.get("episode_type") or "standard")
        prefix = f"{label}: " if label else ""
        if len(items) > 1:
            code += f"–E{items[-1]['episode']['number']:02d}"
            expected.append(Expected(f"{prefix}{show} {code}", None, aired))
        else:
            title = episode.get("title")
            real = title if title and not re.fullmatch(r"(Episode \d+|TBA)", title) else None
            expected.append(Expected(f"{prefix}{show} {code}", real, aired))
    for item in dataset["movies"]:
        if item["theatrical"] is None:
            continue
        released = date.fromisoformat(item["theatrical"])
        if first <= released <= last:
            movie = item["movie"]
            expected.append(Expected(f"{movie['title']} ({movie['year']})", None, released))
    return expected


def test_connect_then_subscribe_gives_the_sandbox_calendar(
    running_app: RunningApp, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    connected = run_airdate("connect", "--json", env=env_for(running_app.settings), cwd=tmp_path)
    assert connected.returncode == 0, connected.stderr
    result = json.loads(connected.stdout)
    assert result["user"] == "demo"
    assert re.fullmatch(rf"{re.escape(running_app.url)}/feeds/[A-Za-z0-9_-]{{43}}\.ics", result["feed_url"])

    response = httpx.get(result["feed_url"], timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    events = calendar.events

    dataset = httpx.get(f"{sandbox.url}/_sandbox/dataset").json()
    tz = ZoneInfo("America/New_York")
    expected = expected_events(dataset, sandbox.clock().astimezone(tz).date(), tz)
    assert len(events) == len(expected)
    by_start: dict[object, list[str]] = {}
    for event in events:
        by_start.setdefault(event.start, []).append(str(event["SUMMARY"]))
    for item in expected:
        summaries = by_start.get(item.start, [])
        matches = [s for s in summaries if s.startswith(item.summary_start)]
        assert matches, f"no event {item.summary_start!r} at {item.start}; there: {summaries}"
        if item.title is not None:
            assert any(s == f"{item.summary_start} · {item.title}" for s in matches), (item, matches)
    timed = [event.start for event in events if isinstance(event.start, datetime)]
    assert timed and all(start.utcoffset() == timedelta(0) for start in timed)
    starts = [line for line in response.content.split(b"\r\n") if line.startswith(b"DTSTART:")]
    assert starts and all(line.endswith(b"Z") for line in starts)
    assert str(calendar["X-WR-CALNAME"]) == "Trakt · Shows and movies — Demo"
