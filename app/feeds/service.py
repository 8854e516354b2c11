"""The feed service: token -> feed -> window -> cached calendar + posters -> iCalendar bytes.

Why it holds rendered bytes in memory: calendar apps poll far more often than anything changes, so a
warm request must cost two memory hits (the feed row with its user's data version, kept by
`app.store.feedrows` until it changes, and the rendered bytes) and nothing else: no read, no rendering, no
upstream call, no write (poll counts are batched).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.singleflight import SingleFlight
from app.domain.entries import Entry, Episode
from app.domain.options import FeedOptions, parse_options, query_text
from app.domain.sources import SOURCES
from app.feeds import ics
from app.feeds.calendar import CalendarResult, CalendarService, Window
from app.feeds.posters import PosterService
from app.store.engine import HotReader, upsert
from app.store.feedrows import FeedRows
from app.store.secrets import hash_feed_token, is_well_formed_feed_token
from app.store.tables import ConnectionStatus, Feed, FeedEvent, TraktConnection, User

log = logging.getLogger(__name__)

STALE_NOTICE_AFTER = timedelta(days=7)
RETRY_MISSING = timedelta(minutes=1)
OPTIONS_MEMO = 4096


class CalendarUnavailable(Exception):
    """Trakt cannot be reached and there is no earlier calendar to answer with."""


@dataclass(frozen=True, slots=True)
class FeedContext:
    """Everything the hot path learns from its one indexed read."""

    feed_id: int
    user_id: int
    name: str
    stored_options: str  # the feed's options as stored JSON text: decoded once per distinct text
    username: str
    user_tz: str
    data_version: int
    connection_status: str


@dataclass(slots=True)
class RenderedFeed:
    body: bytes
    etag: str  # quoted, strong: a hash of the body, so equal bytes give equal ETags on every instance
    last_modified: str  # an HTTP date, formatted once per rendering
    fresh_until: datetime
    digest: str  # what the body was made from; an unchanged digest means no re-render is needed
    entries: tuple[Entry, ...]
    posters: Mapping[ics.PosterKey, str]
    options: FeedOptions
    _gzipped: bytes | None = field(default=None, repr=False)

    def gzipped(self) -> bytes:
        """The body compressed once per rendering, for clients that ask for gzip."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


@dataclass(frozen=True, slots=True)
class FeedStats:
    memory_entries: int
    memory_bytes: int  # estimated, see _footprint
    renders: int  # since the process started


@dataclass(frozen=True, slots=True)
class _MemoryKey:
    feed_id: int
    title: tuple[str, str]  # the feed's name and the user's: both are written into the calendar
    options: FeedOptions
    data_version: int
    connection_status: str
    today: str


# Columns, not ORM objects: this read runs on every poll whose row is not remembered (see HotReader).
# The options come as their JSON text, which keys the resolved-options memo, so a poll decodes no JSON.
LOOKUP = (
    select(
        Feed.id,
        Feed.user_id,
        Feed.name,
        cast(Feed.options, Text).label("options"),
        User.trakt_username,
        User.timezone,
        User.data_version,
        TraktConnection.status,
    )
    .join(User, User.id == Feed.user_id)
    .outerjoin(TraktConnection, TraktConnection.user_id == Feed.user_id)
    .where(Feed.token_hash == bindparam("token_hash"), Feed.revoked_at.is_(None))
)


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
        memory_entries: int = 2048,
        memory_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self._sessions = session_factory
        self._reader = reader
        self._rows = rows
        self._calendar = calendar
        self._posters = posters
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._refresh = refresh
        self._memory: OrderedDict[_MemoryKey, RenderedFeed] = OrderedDict()
        self._memory_entries = memory_entries
        self._memory_limit = memory_bytes
        self._memory_bytes = 0
        self._polls: dict[int, tuple[int, datetime]] = {}
        self._options: dict[tuple[str, tuple[tuple[str, str], ...]], FeedOptions] = {}
        self._renders: SingleFlight[_MemoryKey, RenderedFeed] = SingleFlight()
        self._render_count = 0

    async def lookup(self, token: str) -> FeedContext | None:
        """The live feed a token opens, or None; malformed tokens cost the same query as unknown ones.

        Warm polls are answered from `FeedRows`, which forgets a row as soon as it changes.
        """
        if not is_well_formed_feed_token(token):
            await self._read(hash_feed_token(""))
            return None
        token_hash = hash_feed_token(token)
        return await self._rows.lookup(token_hash, lambda: self._read(token_hash))

    async def _read(self, token_hash: str) -> FeedContext | None:
        row = await self._reader.first(LOOKUP, {"token_hash": token_hash})
        if row is None:
            return None
        return FeedContext(
            feed_id=row["id"],
            user_id=row["user_id"],
            name=row["name"],
            stored_options=row["options"],
            username=row["trakt_username"],
            user_tz=row["timezone"],
            data_version=row["data_version"],
            connection_status=row["status"] or ConnectionStatus.MISSING,
        )

    def options(self, context: FeedContext, overrides: Mapping[str, str]) -> FeedOptions:
        """Stored options with the URL's overrides on top; raises OptionError for a bad override.

        Remembered per distinct input, since every poll of a feed asks the same question.
        """
        key = (context.stored_options, tuple(sorted(overrides.items())))
        options = self._options.get(key)
        if options is None:
            stored = FeedOptions.from_json(json.loads(context.stored_options))
            options = parse_options(overrides, stored)
            if len(self._options) >= OPTIONS_MEMO:
                self._options.clear()
            self._options[key] = options
        return options

    async def render(self, context: FeedContext, options: FeedOptions) -> RenderedFeed:
        now = self._clock()
        tz = ZoneInfo(options.tz or context.user_tz)
        key = _MemoryKey(
            context.feed_id,
            (context.name, context.username),
            options,
            context.data_version,
            context.connection_status,
            now.astimezone(tz).date().isoformat(),
        )
        cached = self._memory.get(key)
        if cached is not None:
            self._memory.move_to_end(key)
            if now < cached.fresh_until:
                return cached
        # Concurrent polls of one feed (a burst after a restart, several devices) share one rendering.
        return await self._renders.run(key, lambda: self._rebuild(context, options, key, tz, cached))

    async def _rebuild(
        self,
        context: FeedContext,
        options: FeedOptions,
        key: _MemoryKey,
        tz: ZoneInfo,
        cached: RenderedFeed | None,
    ) -> RenderedFeed:
        """Ask the calendar cache again; render only when what the feed is made of has changed."""
        now = self._clock()
        result = await self._calendar.entries(
            context.user_id,
            [SOURCES[name] for name in options.sources],
            _window(now, tz, options),
            ignore_watched=options.hide_watched,
        )
        entries = [entry for entry in result.entries if options.specials or not _is_special(entry)]
        notices = self._notices(context, result, now, tz)
        if not entries and not notices and result.incomplete:
            raise CalendarUnavailable()
        posters, complete = await self._posters.posters(entries)
        digest = _digest(entries, posters, notices)
        fresh_until = result.fresh_until
        if result.incomplete or not complete:  # something is missing: look again soon
            fresh_until = min(fresh_until, now + RETRY_MISSING)
        if cached is not None and cached.digest == digest:
            cached.fresh_until = fresh_until
            return cached
        rendered = await self._render(context, options, tz, entries, posters, notices, digest, fresh_until)
        self._remember(key, rendered)
        return rendered

    def stats(self) -> FeedStats:
        """What the rendered-feed memory holds and how often feeds were rendered, for /metrics."""
        return FeedStats(len(self._memory), self._memory_bytes, self._render_count)

    def take_polls(self) -> dict[int, tuple[int, datetime]]:
        """Poll counts gathered since the last call, for `Accounts.record_polls`."""
        polls, self._polls = self._polls, {}
        return polls

    def count_poll(self, feed_id: int) -> None:
        """Note one fetch of the feed URL (the dashboard's previews are not polls, so routes call this)."""
        count, _ = self._polls.get(feed_id, (0, None))
        self._polls[feed_id] = (count + 1, self._clock())

    async def _render(
        self,
        context: FeedContext,
        options: FeedOptions,
        tz: ZoneInfo,
        entries: Sequence[Entry],
        posters: Mapping[ics.PosterKey, str],
        notices: Sequence[ics.Notice],
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
        events = ics.build_events(entries, posters, render_options, notices)
        stored = self.options(context, {})
        variant = "" if options == stored else variant_key(options)
        revisions = await self._revisions(context.feed_id, variant, events)
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

    async def _revisions(
        self, feed_id: int, variant: str, events: Sequence[ics.Event]
    ) -> dict[str, ics.Revision]:
        """SEQUENCE and LAST-MODIFIED per event: they move only when the event's content changed."""
        now = self._clock()
        async with self._sessions.begin() as session:
            query = select(FeedEvent).where(FeedEvent.feed_id == feed_id, FeedEvent.variant == variant)
            stored = {row.uid: row for row in await session.scalars(query)}
            revisions: dict[str, ics.Revision] = {}
            changed: list[dict[str, Any]] = []
            for event in events:
                row = stored.get(event.uid)
                if row is not None and row.fingerprint == event.fingerprint:
                    revisions[event.uid] = ics.Revision(row.sequence, row.modified_at)
                    continue
                sequence = 0 if row is None else row.sequence + 1
                revisions[event.uid] = ics.Revision(sequence, now)
                changed.append(
                    {
                        "feed_id": feed_id,
                        "variant": variant,
                        "uid": event.uid,
                        "fingerprint": event.fingerprint,
                        "sequence": sequence,
                        "modified_at": now,
                    }
                )
            if changed:
                await upsert(
                    session,
                    FeedEvent,
                    changed,
                    key=("feed_id", "variant", "uid"),
                    update=("fingerprint", "sequence", "modified_at"),
                )
        return revisions

    def _notices(
        self, context: FeedContext, result: CalendarResult, now: datetime, tz: ZoneInfo
    ) -> list[ics.Notice]:
        today = now.astimezone(tz).date()
        notices: list[ics.Notice] = []
        if result.needs_reconnect or context.connection_status == ConnectionStatus.NEEDS_RECONNECT:
            notices.append(
                ics.Notice(
                    key="reconnect",
                    day=today,
                    summary="Airdate: reconnect your Trakt account",
                    description="Trakt no longer accepts Airdate's access to your account, so this "
                    "calendar shows what it had and cannot update. Sign in with Trakt again to "
                    "resume updates (your feed URL stays the same).",
                    url=f"{self._public_url}/",
                )
            )
        if result.failing_since is not None and now - result.failing_since >= STALE_NOTICE_AFTER:
            notices.append(
                ics.Notice(
                    key="outage",
                    day=today,
                    summary="Airdate: Trakt unreachable, calendar may be incomplete",
                    description="Airdate has not been able to update this calendar from Trakt since "
                    f"{result.failing_since:%Y-%m-%d %H:%M} UTC; older data has expired. It keeps trying.",
                    url=f"{self._public_url}/",
                )
            )
        return notices

    def _remember(self, key: _MemoryKey, rendered: RenderedFeed) -> None:
        """Keep the newest rendering per feed and options, within both the entry and the byte limit."""
        for old in [k for k in self._memory if k.feed_id == key.feed_id and k.options == key.options]:
            self._memory_bytes -= _footprint(self._memory.pop(old))
        self._memory[key] = rendered
        self._memory_bytes += _footprint(rendered)
        while len(self._memory) > self._memory_entries or (
            self._memory_bytes > self._memory_limit and len(self._memory) > 1
        ):
            _, evicted = self._memory.popitem(last=False)
            self._memory_bytes -= _footprint(evicted)


def variant_key(options: FeedOptions) -> str:
    """The key of a URL-override variant's SEQUENCE history: a hash of the options as a URL states them.

    Only the values that differ from the defaults, as text, in sorted JSON: so adding an option (with a
    default) to `FeedOptions` leaves every existing variant's history where it is.
    """
    defaults = FeedOptions().to_json()
    stated = {
        name: query_text(value) for name, value in options.to_json().items() if value != defaults.get(name)
    }
    canonical = json.dumps(stated, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _footprint(rendered: RenderedFeed) -> int:
    """Roughly what one rendering holds in memory: the body plus the parsed entries behind it,
    measured at about four times the body (benchmark 6: ~400 KiB for a 104 KB feed)."""
    return 4 * len(rendered.body)


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
