"""The process's services, wired once: one engine, one session factory, one HTTP client.

Why a container: the web app's lifespan, the CLI verbs and the benchmarks need the same wiring, and
"one HTTP client per process, one session factory" only holds if exactly one place builds them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import __version__
from app.accounts import Accounts
from app.calendar import CalendarService
from app.clock import Clock, utc_now
from app.config import Settings
from app.connections import ConnectionService
from app.crypto import Vault
from app.db import HotReader, create_engine, create_session_factory
from app.drops import DropLog
from app.feedrows import FeedRows, watcher_for
from app.feeds import FeedContext, FeedService
from app.posters import PosterService
from app.ratelimits import TraktLimits
from app.refresher import Refresher
from app.tmdb import TmdbClient, create_tmdb
from app.tokenlane import TokenLane
from app.trakt import TraktClient, create_trakt

FEED_ROWS = 50_000  # feed rows remembered for warm polls (a few hundred bytes each), see app.feedrows


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    vault: Vault
    trakt: TraktClient
    limits: TraktLimits
    tmdb: TmdbClient | None
    connections: ConnectionService
    calendar: CalendarService
    posters: PosterService
    accounts: Accounts
    feeds: FeedService
    refresher: Refresher
    drops: DropLog  # malformed upstream items dropped by this process (Trakt and TMDB alike)


def create_http_client() -> httpx.AsyncClient:
    """The one outbound client: bounded timeouts so no upstream can hold a feed request for long."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        headers={"User-Agent": f"airdate/{__version__}"},
        follow_redirects=False,
    )


@asynccontextmanager
async def open_services(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Build every service for `settings`; close the HTTP client and the engine on exit."""
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    reader = HotReader(settings.database_url)
    rows: FeedRows[FeedContext] = FeedRows(
        watcher_for(settings.database_url, reader.data_version), capacity=FEED_ROWS
    )
    http = create_http_client()
    lane: TokenLane | None = None
    try:
        drops = DropLog()
        vault = Vault(settings.secret_keys)
        trakt = create_trakt(settings, http, clock=clock)
        tmdb = create_tmdb(settings, http, clock=clock, drops=drops)
        limits = TraktLimits(sessions, clock)
        lane = TokenLane(settings, clock, create_http_client)
        connections = ConnectionService(sessions, vault, trakt, clock, lane=lane)
        ttl = timedelta(seconds=settings.cache_ttl)
        calendar = CalendarService(sessions, trakt, connections, limits, clock, ttl=ttl, drops=drops)
        posters = PosterService(sessions, tmdb, clock)
        feeds = FeedService(
            sessions, reader, rows, calendar, posters, clock, public_url=settings.public_url, refresh=ttl
        )
        yield Services(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            http=http,
            vault=vault,
            trakt=trakt,
            limits=limits,
            tmdb=tmdb,
            connections=connections,
            calendar=calendar,
            posters=posters,
            accounts=Accounts(sessions, vault, clock, settings.public_url),
            feeds=feeds,
            refresher=Refresher(sessions, calendar, clock),
            drops=drops,
        )
    finally:
        if lane is not None:
            await lane.aclose()
        await http.aclose()
        await rows.close()
        await reader.dispose()
        await engine.dispose()
