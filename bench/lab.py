"""The benchmark environment: a temp dir, a migrated SQLite database, the sandbox, the app.

Why one place: every end-to-end benchmark needs the same wiring (settings the app process and the
driver agree on, users signed in through the real device flow, the sandbox's switches), and all of
it must be torn down on any exit. `Lab` owns an `AsyncExitStack`; what it starts, it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.domain.options import FeedOptions
from app.services.container import Services, open_services
from app.store.accounts import FeedInfo, Identity
from app.store.migrate import upgrade_async
from app.store.ratelimits import UNIDENTIFIED
from app.store.secrets import generate_key
from bench.procs import BenchError, Server, airdate_serve, uvicorn_server

CLIENT_ID = "sandbox-client-id"  # the sandbox's defaults (app.sandbox.create_sandbox)
CLIENT_SECRET = "sandbox-client-secret"
TMDB_TOKEN = "sandbox-tmdb-token"
# Shows and movies a week back and half a year ahead: about 150 events from the sandbox's catalog, the
# size of a busy person's feed.
TYPICAL_FEED = FeedOptions(past_days=7, future_days=180)
USER_TZ = "America/New_York"


class Sandbox:
    """The sandbox's control API (`/_sandbox/*`), as the benchmarks use it."""

    def __init__(self, server: Server, http: httpx.AsyncClient) -> None:
        self.server = server
        self._http = http

    async def count(self, prefix: str) -> int:
        answer = await self._control("GET", "/_sandbox/count", params={"prefix": prefix})
        count: int = answer["count"]
        return count

    async def calls(self, prefix: str) -> list[dict[str, Any]]:
        """Every request the sandbox served under `prefix`, oldest first (method, path, query, ...)."""
        answer = await self._control("GET", "/_sandbox/calls", params={"prefix": prefix})
        calls: list[dict[str, Any]] = answer["calls"]
        return calls

    async def delay(self, prefix: str, delay_ms: int) -> None:
        """Every request under `prefix` waits `delay_ms` first, until `clear_faults`."""
        await self._control("POST", "/_sandbox/faults", json=[{"prefix": prefix, "delay_ms": delay_ms}])

    async def clear_faults(self) -> None:
        await self._control("DELETE", "/_sandbox/faults")

    async def configure(self, **changes: Any) -> None:
        await self._control("POST", "/_sandbox/config", json=changes)

    async def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, self.server.url + path, **kwargs)
        if response.status_code >= 400:
            raise BenchError(f"sandbox {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


@dataclass(frozen=True, slots=True)
class Deployment:
    """One database + the settings that point the app at it and at the sandbox."""

    settings: Settings
    env: dict[str, str]


class Lab:
    """What one benchmark run has started: the sandbox, databases, app processes (see module doc)."""

    def __init__(self, exits: AsyncExitStack, workdir: Path, profile_dir: Path | None = None) -> None:
        self._exits = exits
        self.workdir = workdir
        self.profile_dir = profile_dir  # flame graphs of the app under load go here when set
        self._sandbox: Sandbox | None = None
        self._databases = 0

    async def sandbox(self) -> Sandbox:
        """The one sandbox process of this run, started on first use."""
        if self._sandbox is None:
            http = await self._exits.enter_async_context(httpx.AsyncClient(timeout=30.0))
            server = await self._exits.enter_async_context(
                uvicorn_server("sandbox", "bench.targets:sandbox", {}, self.workdir, "/_sandbox/count")
            )
            self._sandbox = Sandbox(server, http)
            await self._sandbox.configure(device_interval=0)
        return self._sandbox

    async def deployment(self) -> Deployment:
        """A fresh migrated SQLite database and the settings for it."""
        sandbox = await self.sandbox()
        self._databases += 1
        database = self.workdir / f"airdate-{self._databases}.db"
        env = {
            "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "AIRDATE_SECRET_KEYS": generate_key(),
            "AIRDATE_PUBLIC_URL": "http://127.0.0.1",
            "AIRDATE_TRAKT_CLIENT_ID": CLIENT_ID,
            "AIRDATE_TRAKT_CLIENT_SECRET": CLIENT_SECRET,
            "AIRDATE_TMDB_TOKEN": TMDB_TOKEN,
            "AIRDATE_TRAKT_API_URL": sandbox.server.url,
            "AIRDATE_TRAKT_AUTH_URL": sandbox.server.url,
            "AIRDATE_TMDB_API_URL": sandbox.server.url,
        }
        settings = Settings.from_env(env, dotenv=None)
        await upgrade_async(settings.database_url)
        return Deployment(settings=settings, env=env)

    async def snapshot(self, deployment: Deployment, name: str) -> Deployment:
        """A consistent copy of the deployment's database (same keys), via SQLite's VACUUM INTO."""
        source = make_url(deployment.settings.database_url).database
        target = self.workdir / f"{name}.db"
        await asyncio.to_thread(_vacuum_into, str(source), str(target))
        env = {**deployment.env, "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{target}"}
        return Deployment(settings=Settings.from_env(env, dotenv=None), env=env)

    @asynccontextmanager
    async def app(self, deployment: Deployment, name: str) -> AsyncIterator[Server]:
        """The real service through `airdate serve`, for the duration of the block; its output (and
        access log) goes to `<workdir>/<name>.log`, quoted in the error if it fails to start."""
        async with airdate_serve(name, deployment.env, self.workdir) as server:
            yield server

    async def connect(self, deployment: Deployment, slug: str, options: FeedOptions) -> FeedInfo:
        """Sign a new sandbox user in through the real device flow; return their feed with `options`."""
        sandbox = await self.sandbox()
        await sandbox.configure(next_user={"slug": slug, "username": slug.title(), "timezone": USER_TZ})
        async with open_services(deployment.settings) as services:
            return await _connect(services, options)


async def _connect(services: Services, options: FeedOptions) -> FeedInfo:
    code = await services.trakt.device_code()
    tokens = await services.trakt.wait_for_device_token(code)
    who = await services.trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)
    user_id = await services.accounts.upsert_user(
        Identity(slug=who.slug, username=who.username, uuid=who.uuid, timezone=who.timezone)
    )
    await services.connections.save(user_id, tokens)
    feed = await services.accounts.ensure_default_feed(user_id)
    return await services.accounts.update_feed(feed.id, options=options)


def _vacuum_into(source: str, target: str) -> None:
    with contextlib.closing(sqlite3.connect(source)) as connection:
        connection.execute("VACUUM INTO ?", (target,))


@asynccontextmanager
async def open_lab(profile_dir: Path | None = None) -> AsyncIterator[Lab]:
    with tempfile.TemporaryDirectory(prefix="airdate-bench-") as workdir:
        async with AsyncExitStack() as exits:
            yield Lab(exits, Path(workdir), profile_dir)


def feed_path(feed: FeedInfo) -> str:
    return f"/feeds/{feed.token}.ics"
