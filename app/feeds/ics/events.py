"""Entries -> `Event` values: one per episode, drop, release or notice, each with its fingerprint.

Why separate from rendering: the caller sits between the two steps. It compares each event's
fingerprint with what it stored and bumps SEQUENCE and LAST-MODIFIED for the events that changed
(clients, Google above all, ignore content changes without that), then `render` serializes. The
dashboard's "Coming up" row uses this step alone, so it shows exactly the events the feed serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import TypeVar
from urllib.parse import quote

from app.domain.entries import Entry, Episode, Release, ReleaseKind, Show
from app.domain.posterkey import PosterKey, poster_key
from app.feeds.ics.budget import DETAIL_LEVELS, Detail, estimated_size
from app.feeds.ics.model import Event, EventContent, Notice, RenderOptions
from app.feeds.ics.text import line, paragraphs, text, uri
from app.feeds.ics.wording import (
    EPISODE_LABELS,
    MOVIE_CATEGORY,
    NOTICE_CATEGORY,
    RELEASE_LABELS,
    TRAKT,
    TV_CATEGORY,
    aired_at,
    drop_code,
    episode_code,
    labelled,
    show_title,
    show_url,
    title_part,
    trakt_path,
)

DEFAULT_RUNTIME = timedelta(minutes=60)


def build_events(
    entries: Iterable[Entry],
    posters: Mapping[PosterKey, str],
    options: RenderOptions,
    notices: Iterable[Notice] = (),
) -> list[Event]:
    """Entries (from any mix of sources, duplicates allowed) -> one event per item, sorted by start, UID.

    A feed whose estimated size exceeds `options.byte_budget` is rebuilt with less detail per event
    (see `DETAIL_LEVELS`) until it fits; every event keeps its date, title, UID and Trakt link.
    """
    episodes: dict[int, Episode] = {}
    releases: dict[tuple[int, ReleaseKind], Release] = {}
    for entry in entries:
        if isinstance(entry, Episode):
            episodes[entry.trakt_id] = _newer(episodes.get(entry.trakt_id), entry)
        else:
            key = (entry.movie.trakt_id, entry.kind)
            releases[key] = _newer(releases.get(key), entry)
    airings = _airings(episodes.values(), options.group_drops)
    notices = tuple(notices)

    for detail in DETAIL_LEVELS:
        builder = Builder(posters, options, detail)
        events = [builder.release(release) for release in releases.values()]
        events.extend(
            builder.episode(group[0]) if len(group) == 1 else builder.drop(group) for group in airings
        )
        events.extend(builder.notice(notice) for notice in notices)
        by_uid = {event.uid: event for event in events}
        if estimated_size(by_uid.values()) <= options.byte_budget:
            break
    return sorted(by_uid.values(), key=lambda event: (event.order, event.uid))


_Item = TypeVar("_Item", Episode, Release)


def _newer(current: _Item | None, candidate: _Item) -> _Item:
    """Which copy of a duplicate to keep: the more recently updated one, else the first seen."""
    if current is None:
        return candidate
    current_at = _updated_at(current)
    candidate_at = _updated_at(candidate)
    if candidate_at is not None and (current_at is None or candidate_at > current_at):
        return candidate
    return current


def _updated_at(entry: Entry) -> datetime | None:
    return entry.updated_at if isinstance(entry, Episode) else entry.movie.updated_at


def _airings(episodes: Iterable[Episode], group_drops: bool) -> list[list[Episode]]:
    """Episodes of one show and season released at one instant form a drop (a binge release)."""
    if not group_drops:
        return [[episode] for episode in episodes]

    def key(episode: Episode) -> tuple[int, int, datetime]:
        return (episode.show.trakt_id, episode.season, aired_at(episode))

    ordered = sorted(episodes, key=lambda episode: (*key(episode), episode.number, episode.trakt_id))
    return [list(group) for _, group in groupby(ordered, key=key)]


class Builder:
    """Turns one item into one `Event`; holds what every event of one feed shares."""

    def __init__(self, posters: Mapping[PosterKey, str], options: RenderOptions, detail: Detail) -> None:
        self._posters = posters
        self._options = options
        self._detail = detail
        self._suffix = f"-{options.feed_id}@airdate"

    def episode(self, episode: Episode) -> Event:
        show = episode.show
        label = EPISODE_LABELS.get(episode.episode_type)
        code = episode_code(episode.season, episode.number)
        return self._airing(
            uid=f"episode-{episode.trakt_id}",
            show=show,
            aired=aired_at(episode),
            runtime=_runtime(episode),
            summary=labelled(label, f"{show_title(show)} {code}{title_part(episode.title)}"),
            body=[self._overview(episode.overview)],
            url=f"{show_url(show)}/seasons/{episode.season}/episodes/{episode.number}",
            labels=[label],
        )

    def drop(self, episodes: list[Episode]) -> Event:
        first = episodes[0]
        show = first.show
        labels = [EPISODE_LABELS.get(episode.episode_type) for episode in episodes]
        label = next((found for found in labels if found), None)
        listing = "\n".join(
            f"{episode_code(episode.season, episode.number)}{title_part(episode.title)}"
            for episode in episodes
        )
        return self._airing(
            uid=f"drop-{show.trakt_id}-{first.season}-{aired_at(first):%Y%m%dT%H%M%SZ}",
            show=show,
            aired=aired_at(first),
            runtime=max(_runtime(episode) for episode in episodes),
            summary=labelled(label, f"{show_title(show)} {drop_code(episodes)}"),
            body=[f"{len(episodes)} episodes released together:\n{listing}"],
            url=f"{show_url(show)}/seasons/{first.season}",
            labels=labels,
        )

    def release(self, release: Release) -> Event:
        movie = release.movie
        title = (line(movie.title) or "Untitled movie") + (f" ({movie.year})" if movie.year else "")
        kind_label = RELEASE_LABELS[release.kind]
        url = f"{TRAKT}/movies/{trakt_path(movie.slug, movie.trakt_id)}"
        image = self._image(poster_key(movie))
        day = release.date
        content = EventContent(
            start=day,
            end=day + timedelta(days=1),
            summary=title if release.kind == "theatrical" else f"{title} · {kind_label}",
            description=self._describe(
                self._overview(movie.overview), f"Trakt: {url}", self._poster_line(image)
            ),
            location=None,
            url=url,
            categories=(MOVIE_CATEGORY, kind_label),
            image=image,
            attach=image if self._detail.copies else None,
            alarm=self._alarm(),
        )
        return Event(f"movie-{movie.trakt_id}-{release.kind}{self._suffix}", self._midnight(day), content)

    def notice(self, notice: Notice) -> Event:
        url = uri(notice.url)
        content = EventContent(
            start=notice.day,
            end=notice.day + timedelta(days=1),
            summary=line(notice.summary) or "Airdate notice",
            description=paragraphs(text(notice.description), url),
            location=None,
            url=url,
            categories=(NOTICE_CATEGORY,),
            image=None,
            attach=None,
            alarm=None,
        )
        return Event(
            f"notice-{quote(notice.key, safe='')}{self._suffix}", self._midnight(notice.day), content
        )

    def _airing(
        self,
        *,
        uid: str,
        show: Show,
        aired: datetime,
        runtime: timedelta,
        summary: str,
        body: list[str | None],
        url: str,
        labels: list[str | None],
    ) -> Event:
        """What an episode and a drop share: timing, all-day mode, network, poster, links, categories."""
        network = line(show.network or "") or None
        image = self._image(poster_key(show))
        start: datetime | date
        end: datetime | date
        if self._options.all_day_episodes:
            local = aired.astimezone(self._options.tz)
            start, end = local.date(), local.date() + timedelta(days=1)
            body = [f"Airs at {local:%H:%M} ({self._options.tz.key})", *body]
        else:
            start, end = aired, aired + runtime
        categories = [TV_CATEGORY]
        categories.extend(label for label in EPISODE_LABELS.values() if label in labels)
        content = EventContent(
            start=start,
            end=end,
            summary=summary,
            description=self._describe(
                *body,
                f"Network: {network}" if network and self._detail.copies else None,
                f"Trakt: {url}",
                self._poster_line(image),
            ),
            location=network,
            url=url,
            categories=tuple(categories),
            image=image,
            attach=image if self._detail.copies else None,
            alarm=self._alarm(aired if self._options.all_day_episodes else None),
        )
        return Event(uid + self._suffix, aired, content)

    def _alarm(self, all_day_airing: datetime | None = None) -> timedelta | datetime | None:
        """The VALARM trigger for "n minutes before it airs".

        Timed events and releases: `-PTnM` relative to DTSTART. A timed DTSTART is UTC, where no
        clock changes, so every reader gets exactly n minutes; a release has no time of day, so
        "before the day starts" (in the reader's zone, like the DATE itself) is what it means.

        All-day episodes: the absolute instant `air time - n minutes`, written as
        `TRIGGER;VALUE=DATE-TIME:...Z` (RFC 5545 §3.8.6.3), which every reader decodes to the same
        instant. A trigger relative to a DATE start counts from each reader's own midnight, so it
        fires an hour off whenever a clock change lies between midnight and the air time (03:15
        EDT on the spring-forward day is 2 h 15 min after midnight, not 3 h 15, and the wall-clock
        reading of "3:15 less 30 minutes" does not exist that night); Outlook's import
        (MS-OXCICAL) even reads a positive duration as minutes *before* the start. Thunderbird,
        libical-based apps and Android's ICSx5/DAVx5 honour absolute triggers (docs/events.md has
        the evidence). No instant exists before year 1, so an alarm that would fire there is left
        out.
        """
        minutes = self._options.alarm_minutes
        if minutes is None:
            return None
        before = timedelta(minutes=minutes)
        if all_day_airing is None:
            return -before
        try:
            return all_day_airing - before
        except OverflowError:
            return None

    def _overview(self, overview: str | None) -> str | None:
        """The overview, cut at a word boundary (marked with …) beyond the detail level's octets."""
        limit = self._detail.overview_octets
        clean = text(overview or "").strip()
        if not clean or limit == 0:
            return None
        encoded = clean.encode()
        if len(encoded) <= limit:
            return clean
        head = encoded[: limit - len("…".encode())].decode(errors="ignore")
        words = head.rsplit(None, 1)
        if len(words) == 2 and len(words[1]) <= 40:  # drop a cut-off word, not a spaceless script
            head = words[0]
        return head.rstrip() + "…"

    def _image(self, key: PosterKey) -> str | None:
        return uri(self._posters.get(key)) if self._detail.image else None

    def _poster_line(self, image: str | None) -> str | None:
        return f"Poster: {image}" if image and self._detail.copies else None

    def _describe(self, *parts: str | None) -> str:
        return paragraphs(*parts) if self._detail.description else ""

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self._options.tz).astimezone(UTC)


def _runtime(episode: Episode) -> timedelta:
    """Episode runtime, else the show's, else an hour; never zero, since DTEND must follow DTSTART."""
    minutes = next((m for m in (episode.runtime, episode.show.runtime) if m and m > 0), None)
    return timedelta(minutes=minutes) if minutes else DEFAULT_RUNTIME
