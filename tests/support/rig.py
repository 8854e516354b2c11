"""The real parts one process of the app has (Trakt client, token store), pointed at the sandbox.

Shared by the token, calendar, poster and refresher tests; the `rig` fixture that builds one per
test lives in `tests.fixtures.rig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.store.secrets import Vault, generate_key
from app.store.tables import User
from app.upstream.connections import ConnectionService
from app.upstream.trakt import TraktClient, create_trakt
from app.upstream.trakt_auth import TokenSet
from tests.fixtures.sandbox import FakeClock, RunningSandbox
from tests.support.settings import sandbox_settings

SECRET_KEYS = (generate_key(),)
POLL = 0.01  # seconds between lease polls: real sleeps, since the winner works in real time
IMAGES = "https://images.example/t/p/"  # not TMDB's real host, so a poster URL shows where it came from
PUBLIC_URL = "http://127.0.0.1:8000"  # the rig serves no pages: no link it makes is ever followed


@dataclass
class Rig:
    """The real parts one process of the app would have, pointed at the sandbox and a test database."""

    sandbox: RunningSandbox
    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    database_url: str
    vault: Vault = field(default_factory=lambda: Vault(SECRET_KEYS))

    @property
    def clock(self) -> FakeClock:
        return self.sandbox.clock

    def settings(self) -> Settings:
        return sandbox_settings(
            self.database_url, self.sandbox.url, PUBLIC_URL, secret_keys=SECRET_KEYS, tmdb_image_url=IMAGES
        )

    async def advance_sleep(self, seconds: float) -> None:
        """The upstream clients' sleep: retries and device polls move the shared clock, never wait."""
        self.clock.advance(seconds)

    def trakt(self) -> TraktClient:
        return create_trakt(
            self.settings(), self.http, clock=self.clock, sleep=self.advance_sleep, rng=lambda: 0.5
        )

    def connections(
        self, sessions: async_sessionmaker[AsyncSession] | None = None, **options: Any
    ) -> ConnectionService:
        return ConnectionService(
            sessions or self.sessions, self.vault, self.trakt(), self.clock, poll_interval=POLL, **options
        )

    async def control(self, switch: str, body: Any) -> None:
        response = await self.http.post(f"{self.sandbox.url}/_sandbox/{switch}", json=body)
        assert response.status_code == 200, response.text

    async def clear_faults(self) -> None:
        response = await self.http.delete(f"{self.sandbox.url}/_sandbox/faults")
        assert response.status_code == 200

    async def connected_user(
        self, connections: ConnectionService, slug: str = "demo"
    ) -> tuple[int, TokenSet]:
        """A user row plus a real device-flow grant from the sandbox, saved through `connections`."""
        user_id = await add_user(self.sessions, self.clock, slug)
        if slug != "demo":
            await self.control("config", {"next_user": {"slug": slug}})
        tokens = await sign_in(self.trakt())
        await connections.save(user_id, tokens)
        return user_id, tokens


async def add_user(
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    slug: str = "demo",
    timezone: str = "America/New_York",
) -> int:
    async with sessions.begin() as session:
        user = User(
            trakt_slug=slug,
            trakt_username=slug,
            timezone=timezone,
            data_version=0,
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(user)
        await session.flush()
        return user.id


async def sign_in(trakt: TraktClient) -> TokenSet:
    return await trakt.wait_for_device_token(await trakt.device_code())


async def data_version(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessions() as session:
        version = await session.scalar(select(User.data_version).where(User.id == user_id))
    assert version is not None
    return version
