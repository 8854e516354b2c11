"""The feed service: token -> feed -> window -> cached calendar + posters -> iCalendar bytes.

Why it holds rendered bytes in memory: calendar apps poll far more often than anything changes, so a
warm request must cost two memory hits (the feed row with its user's data version, kept by
`app.store.feedrows` until it changes, and the rendered bytes in `app.feeds.memory`) and nothing
else: no read, no rendering, no upstream call, no write (poll counts are batched, `app.feeds.polls`).

This class only orchestrates; each concept it strings together has its own module: the lookup SQL
(`app.store.feedlookup`), resolved options (`optionsmemo`), the rendered-feed memory (`memory`),
notices (`notices`), SEQUENCE bookkeeping (`revisions`), poll counts (`polls`) and the iCalendar
itself (`ics`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.singleflight import SingleFlight
from app.domain.entries import Entry, Episode
from app.domain.options import FeedOptions
from app.domain.sources import SOURCES
from app.feeds import ics
from app.feeds.calendar import CalendarService, Window
from app.feeds.calendar.grid import next_day_starts
from app.feeds.memory import MEMORY_BYTES, MEMORY_ENTRIES, Basis, FeedMemory, RenderedFeed
from app.feeds.notices import notices
from app.feeds.optionsmemo import OptionsMemo
from app.feeds.polls import Batch, PollCounter
from app.feeds.posters import PosterService
from app.feeds.revisions import Revisions, variant_key
from app.store.engine import HotReader
from app.store.feedlookup import FeedContext, read_feed
from app.store.feedrows import FeedRows
from app.store.secrets import hash_feed_token, is_well_formed_feed_token
from app.store.tables import ConnectionStatus

__all__ = ["CalendarUnavailable", "FeedContext", "FeedService", "FeedStats", "RenderedFeed"]

RETRY_MISSING = timedelta(minutes=1)


class CalendarUnavailable(Exception):
    """Trakt cannot be reached and there is no earlier calendar to answer with."""


@dataclass(frozen=True, slots=True)
class FeedStats:
    memory_entries: int
    memory_bytes: int  # estimated, see app.feeds.memory.footprint
    renders: int  # since the process started


class FeedService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        reader: HotReader,
        rows: FeedRows[FeedContext],
        calendar: CalendarService,
        posters: PosterService,
        clock: Callable[[], datetime],
        *,
        public_url: str,
        refresh: timedelta = timedelta(hours=1),
        memory_entries: int = MEMORY_ENTRIES,
        memory_bytes: int = MEMORY_BYTES,
    ) -> None:
        self._reader = reader
        self._rows = rows
        self._calendar = calendar
        self._posters = posters
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._refresh = refresh
        self._memory = FeedMemory(entries=memory_entries, max_bytes=memory_bytes)
        self._revisions = Revisions(session_factory, clock)
        self._polls = PollCounter(clock)
        self._options = OptionsMemo()
        self._renders: SingleFlight[tuple[int, FeedOptions, Basis], RenderedFeed] = SingleFlight()
        self._render_count = 0

    async def lookup(self, token: str) -> FeedContext | None:
        """The live feed a token opens, or None; malformed tokens cost the same query as unknown ones.

        Warm polls are answered from `FeedRows`, which forgets a row as soon as it changes.
        """
        if not is_well_formed_feed_token(token):
            await read_feed(self._reader, hash_feed_token(""))
            return None
        token_hash = hash_feed_token(token)
        return await self._rows.lookup(token_hash, lambda: read_feed(self._reader, token_hash))

    def options(self, context: FeedContext, overrides: Mapping[str, str]) -> FeedOptions:
        """Stored options with the URL's overrides on top; raises OptionError for a bad override."""
        return self._options.resolve(context.stored_options, overrides)

    async def render(self, context: FeedContext, options: FeedOptions) -> RenderedFeed:
        """The feed as it should be now: from memory while fresh (a warm poll ends here), else
        rebuilt. A rendering's freshness ends with its local day too, so no poll computes the date."""
        now = self._clock()
        basis = Basis(
            (context.name, context.username),
            context.user_tz,
            context.stored_options,
            context.data_version,
            context.connection_status,
        )
        cached = self._memory.get(context.feed_id, options, basis)
        if cached is not None and now < cached.fresh_until:
            return cached
        # Concurrent polls of one feed (a burst after a restart, several devices) share one rendering.
        return await self._renders.run(
            (context.feed_id, options, basis), lambda: self._rebuild(context, options, basis, cached)
        )

    def stats(self) -> FeedStats:
        """What the rendered-feed memory holds and how often feeds were rendered, for /metrics."""
        return FeedStats(len(self._memory), self._memory.bytes, self._render_count)

    def take_polls(self) -> Batch:
        """Poll counts gathered since the last call, for `Accounts.record_polls`."""
        return self._polls.take()

    def give_back_polls(self, batch: Batch) -> None:
        """Poll counts whose write failed: the next `take_polls` includes them."""
        self._polls.give_back(batch)

    def count_poll(self, feed_id: int) -> None:
        """Note one fetch of the feed URL (the dashboard's previews are not polls, so routes call this)."""
        self._polls.count(feed_id)

    async def _rebuild(
        self,
        context: FeedContext,
        options: FeedOptions,
        basis: Basis,
        cached: RenderedFeed | None,
    ) -> RenderedFeed:
        """Ask the calendar cache again; render only when what the feed is made of has changed."""
        now = self._clock()
        tz = ZoneInfo(options.tz or context.user_tz)
        result = await self._calendar.entries(
            context.user_id,
            [SOURCES[name] for name in options.sources],
            _window(now, tz, options),
            ignore_watched=options.hide_watched,
        )
        entries = [entry for entry in result.entries if options.specials or not _is_special(entry)]
        found = notices(
            needs_reconnect=result.needs_reconnect
            or context.connection_status == ConnectionStatus.NEEDS_RECONNECT,
            failing_since=result.failing_since,
            data_expired=result.expired_while_failing,
            now=now,
            today=now.astimezone(tz).date(),
            url=f"{self._public_url}/",
        )
        if not entries and not found and result.incomplete:
            raise CalendarUnavailable()
        posters, complete = await self._posters.posters(entries)
        digest = _digest(entries, posters, found)
        # The window and the notices are the local day's: a new day asks the calendar cache again.
        fresh_until = min(result.fresh_until, next_day_starts(now, tz))
        if result.incomplete or not complete:  # something is missing: look again soon
            fresh_until = min(fresh_until, now + RETRY_MISSING)
        if cached is not None and cached.digest == digest:
            cached.fresh_until = fresh_until
            return cached
        rendered = await self._render(context, options, tz, entries, posters, found, digest, fresh_until)
        self._memory.put(context.feed_id, options, basis, rendered)
        return rendered

    async def _render(
        self,
        context: FeedContext,
        options: FeedOptions,
        tz: ZoneInfo,
        entries: Sequence[Entry],
        posters: Mapping[ics.PosterKey, str],
        found: Sequence[ics.Notice],
        digest: str,
        fresh_until: datetime,
    ) -> RenderedFeed:
        render_options = ics.RenderOptions(
            feed_id=context.feed_id,
            tz=tz,
            all_day_episodes=options.all_day,
            alarm_minutes=options.alarm,
            group_drops=options.group,
        )
        self._render_count += 1
        events = ics.build_events(entries, posters, render_options, found)
        variant = "" if options == self.options(context, {}) else variant_key(options)
        revisions = await self._revisions.of(context.feed_id, variant, events)
        info = ics.CalendarInfo(
            name=f"Trakt · {context.name} — {context.username}",
            description=f"Upcoming episodes and releases from {context.username}'s Trakt calendar, "
            "published by Airdate.",
            refresh=self._refresh,
        )
        body = ics.render(info, events, revisions)
        last_modified = max((revision.modified for revision in revisions.values()), default=self._clock())
        return RenderedFeed(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=format_datetime(last_modified, usegmt=True),
            fresh_until=fresh_until,
            digest=digest,
            entries=tuple(entries),
            posters=posters,
            options=options,
        )


def _window(now: datetime, tz: ZoneInfo, options: FeedOptions) -> Window:
    today = now.astimezone(tz).date()
    return Window(
        start=today - timedelta(days=options.past_days),
        end=today + timedelta(days=options.future_days),
        tz=tz,
    )


def _is_special(entry: Entry) -> bool:
    return isinstance(entry, Episode) and entry.season == 0


def _digest(
    entries: Sequence[Entry], posters: Mapping[ics.PosterKey, str], notices: Sequence[ics.Notice]
) -> str:
    parts = (repr(entries), repr(sorted(posters.items())), repr(notices))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
