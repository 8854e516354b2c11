"""The words and links an event is written with: labels, categories, `SxxEyy` codes, titles, Trakt URLs.

Why one module: the dashboard's "Coming up" row reads these same labels back out of events, and an
episode code or a Trakt link written two ways would show two ways.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from app.domain.entries import Episode, ReleaseKind, Show
from app.feeds.ics.text import line

TRAKT = "https://trakt.tv"

EPISODE_LABELS: Mapping[str, str] = {
    "series_premiere": "Series premiere",
    "season_premiere": "Season premiere",
    "mid_season_premiere": "Mid-season premiere",
    "mid_season_finale": "Mid-season finale",
    "season_finale": "Season finale",
    "series_finale": "Series finale",
}
RELEASE_LABELS: Mapping[ReleaseKind, str] = {
    "theatrical": "Theatrical release",
    "digital": "Digital release",
    "dvd": "DVD release",
}
TV_CATEGORY = "TV"
MOVIE_CATEGORY = "Movie"
NOTICE_CATEGORY = "Airdate"

# Trakt fills unknown episode titles with these; showing "Episode 5" after "S01E05" is noise.
_PLACEHOLDER_TITLE = re.compile(
    r"(?:episode|ep\.?)\s*#?\s*\d+(?:\.\d+)?|tba|tbd|to be announced|untitled|n/?a",
    re.IGNORECASE,
)


def episode_code(season: int, number: int) -> str:
    """`S02E03`: the one spelling of an episode's place in its show."""
    return _season_code(season) + _number_code(number)


def drop_code(episodes: Sequence[Episode]) -> str:
    """`S02E01–E08` for a run of consecutive numbers; otherwise every number, so no episode is implied."""
    numbers = [episode.number for episode in episodes]
    season = _season_code(episodes[0].season)
    if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{season}{_number_code(numbers[0])}–{_number_code(numbers[-1])}"
    return season + ", ".join(_number_code(number) for number in numbers)


def _season_code(season: int) -> str:
    return f"S{season:02d}"


def _number_code(number: int) -> str:
    return f"E{number:02d}"


def title_part(title: str | None) -> str:
    """` · Title` after an episode code, or nothing for a missing or placeholder title."""
    if not title:
        return ""
    clean = line(title)
    return "" if not clean or _PLACEHOLDER_TITLE.fullmatch(clean) else f" · {clean}"


def labelled(label: str | None, summary: str) -> str:
    return f"{label}: {summary}" if label else summary


def show_title(show: Show) -> str:
    return line(show.title) or "Untitled show"


def show_url(show: Show) -> str:
    return f"{TRAKT}/shows/{trakt_path(show.slug, show.trakt_id)}"


def trakt_path(slug: str | None, fallback: int) -> str:
    return quote(slug, safe="") if slug else str(fallback)


def aired_at(episode: Episode) -> datetime:
    """The air instant as iCalendar can say it: UTC, whole seconds (so grouping matches the file)."""
    return episode.first_aired.astimezone(UTC).replace(microsecond=0)
