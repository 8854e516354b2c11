"""The process's services, wired once: one engine, one session factory, one HTTP client.

Why a container: the web app's lifespan, the CLI verbs and the benchmarks need the same wiring, and
"one HTTP client per process, one session factory" only holds if exactly one place builds them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import Clock, utc_now
from app.core.config import Settings
from app.domain.drops import DropLog
from app.feeds.calendar import CalendarService
from app.feeds.posters import PosterService
from app.feeds.service import FeedContext, FeedService
from app.store.accounts import Accounts
from app.store.engine import HotReader, create_engine, create_session_factory
from app.store.feedrows import FeedRows, watcher_for
from app.store.ratelimits import TraktLimits
from app.store.secrets import Vault
from app.upstream.connections import ConnectionService
from app.upstream.http import USER_AGENT
from app.upstream.tmdb import TmdbClient, create_tmdb
from app.upstream.tokenlane import TokenLane
from app.upstream.trakt import TraktClient, create_trakt
from app.workers.refresher import Refresher

FEED_ROWS = 50_000  # feed rows remembered for warm polls (a few hundred bytes each), see app.store.feedrows


@dataclass(frozen=True)
class Services:
    """The process's parts. Those that talk to Trakt are built on first use, not up front.

    Why lazily: `rekey`, `feeds list` and the other bookkeeping verbs never call Trakt and must run on
    a machine without AIRDATE_TRAKT_CLIENT_ID; a verb that does call Trakt still stops with the one
    line naming the variable, raised by `create_trakt` when the Trakt client is first needed.
    (`cached_property` stores into the instance dict, which a frozen dataclass without slots allows.)
    """

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reader: HotReader
    http: httpx.AsyncClient
    vault: Vault
    tmdb: TmdbClient | None
    posters: PosterService
    accounts: Accounts
    limits: TraktLimits
    rows: FeedRows[FeedContext]
    drops: DropLog  # malformed upstream items dropped by this process (Trakt and TMDB alike)

    @cached_property
    def trakt(self) -> TraktClient:
        return create_trakt(self.settings, self.http, clock=self.clock)

    @cached_property
    def lane(self) -> TokenLane:
        """The thread token refreshes run on (`tokenlane`); started only by a process that refreshes."""
        return TokenLane(self.settings, self.clock, create_http_client)

    @cached_property
    def connections(self) -> ConnectionService:
        return ConnectionService(self.sessions, self.vault, self.trakt, self.clock, lane=self.lane)

    @cached_property
    def calendar(self) -> CalendarService:
        return CalendarService(
            self.sessions,
            self.trakt,
            self.connections,
            self.limits,
            self.clock,
            ttl=self._ttl,
            drops=self.drops,
        )

    @cached_property
    def feeds(self) -> FeedService:
        return FeedService(
            self.sessions,
            self.reader,
            self.rows,
            self.calendar,
            self.posters,
            self.clock,
            public_url=self.settings.public_url,
            refresh=self._ttl,
        )

    @cached_property
    def refresher(self) -> Refresher:
        return Refresher(self.sessions, self.calendar, self.clock)

    @property
    def _ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.cache_ttl)

    async def aclose(self) -> None:
        """Stop what was started on demand (the token lane's thread), then the shared clients."""
        if "lane" in self.__dict__:
            await self.lane.aclose()


def create_http_client() -> httpx.AsyncClient:
    """The one outbound client: bounded timeouts so no upstream can hold a feed request for long."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


@asynccontextmanager
async def open_services(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Build every service for `settings`; close the HTTP client and the engine on exit."""
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    reader = HotReader(settings.database_url)
    rows: FeedRows[FeedContext] = FeedRows(
        watcher_for(settings.database_url, reader.commit_marker), capacity=FEED_ROWS
    )
    http = create_http_client()
    services: Services | None = None
    try:
        drops = DropLog()
        vault = Vault(settings.secret_keys)
        tmdb = create_tmdb(settings, http, clock=clock, drops=drops)
        services = Services(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            reader=reader,
            http=http,
            vault=vault,
            tmdb=tmdb,
            posters=PosterService(sessions, tmdb, clock),
            accounts=Accounts(sessions, vault, clock, settings.public_url),
            limits=TraktLimits(sessions, clock),
            rows=rows,
            drops=drops,
        )
        yield services
    finally:
        if services is not None:
            await services.aclose()
        await http.aclose()
        await rows.close()
        await reader.dispose()
        await engine.dispose()
