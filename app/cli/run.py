"""`airdate serve`, `airdate demo` and `airdate sandbox`: the verbs that keep servers running.

Why the demo runs everything in one event loop: the sandbox, the sign-in and the app then share one
process that Ctrl-C stops as a whole, and the throwaway database goes with it. The demo's settings are
built here, not read from the environment, so a half-configured `.env` cannot leak into it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import click
from starlette.applications import Starlette

from app.cli.collector import settle_for_serving
from app.cli.command import Verb, address_options
from app.cli.datadir import check_data_directory
from app.cli.servers import Listener, Servers, listen, run_serving, supervise
from app.cli.verbs import summary
from app.core.config import Settings
from app.sandbox import Sandbox, create_sandbox
from app.services.container import open_services
from app.services.signin import device_sign_in
from app.store.migrate import upgrade_async
from app.store.secrets import generate_key
from app.upstream.trakt_auth import DeviceCode
from app.web.app import create_app
from app.web.logs import configure as configure_logging
from app.web.subscribe import webcal_url

QUIET = {"log_level": "warning"}
# `airdate serve`, in one process or several. Our access log (app.web.access_log) instead of uvicorn's,
# which prints whole feed URLs; no log_config, so uvicorn's own lines go through our handler and format.
SERVING = {"log_level": "info", "proxy_headers": True, "access_log": False, "log_config": None}


@click.command(cls=Verb, help=summary("serve"))
@address_options(8000)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="worker processes sharing the port, e.g. one per CPU core",
)
def serve(host: str, port: int, workers: int) -> None:
    settings = Settings.from_env()
    settings.require_trakt()
    check_data_directory(settings.database_url)
    if workers > 1:
        serve_workers(settings, host, port, workers)
    else:
        run_serving(serve_one(settings, host, port))


@click.command(cls=Verb, help=summary("demo"))
@address_options(8000)
def demo(host: str, port: int) -> None:
    asyncio.run(run_demo(host, port))


@click.command(cls=Verb, help=summary("sandbox"))
@address_options(8765)
def sandbox(host: str, port: int) -> None:
    asyncio.run(run_sandbox(host, port))


async def serve_one(settings: Settings, host: str, port: int) -> None:
    listener = listen(host, port)
    configure_logging(settings.log_format)
    async with Servers() as servers:
        await servers.start(create_app(settings), listener, **SERVING)
        settle_for_serving()  # after the app's start-up, which the server has run by now
        _announce_serving(settings, listener, "")
        await servers.wait_for_stop()


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """`airdate serve --workers N`: N processes on one socket, sharing everything through the database.

    Budgets, calendar and poster leases, token refreshes and poll counts already live in the database,
    so the workers coordinate as separate instances do; each runs its own refresher, and the chunk
    leases keep them from calling Trakt twice for one chunk.
    """
    listener = listen(host, port)
    configure_logging(settings.log_format)
    _announce_serving(settings, listener, f" with {workers} worker processes")
    supervise(f"{__name__}:worker_app", listener, workers, **SERVING)


def worker_app() -> Starlette:
    """One worker's app: a fresh interpreter reading the environment the parent already validated."""
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    app = create_app(settings)
    settle_for_serving()  # what this interpreter imported and built; the app's services come later
    return app


def _announce_serving(settings: Settings, listener: Listener, how: str) -> None:
    # Our line, not uvicorn's: with a pre-bound socket uvicorn cannot know the port `--port 0` got.
    print(
        f"Airdate serving on {listener.url}{how} (feeds are published under {settings.public_url}); "
        "Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )


def _sandbox_lines(sandbox: Sandbox, listener: Listener) -> list[str]:
    return [
        f"Stand-in Trakt and TMDB at {listener.url}",
        f"  AIRDATE_TRAKT_API_URL={listener.url}",
        f"  AIRDATE_TRAKT_AUTH_URL={listener.url}",
        f"  AIRDATE_TMDB_API_URL={listener.url}",
        f"  AIRDATE_TRAKT_CLIENT_ID={sandbox.client_id}",
        f"  AIRDATE_TRAKT_CLIENT_SECRET={sandbox.client_secret}",
        f"  AIRDATE_TMDB_TOKEN={sandbox.tmdb_token}",
    ]


async def run_sandbox(host: str, port: int) -> None:
    """The sandbox alone, for pointing a real `airdate serve` (or a benchmark) at it."""
    sandbox = create_sandbox()
    listener = listen(host, port)
    async with Servers() as servers:
        await servers.start(sandbox.app, listener, **QUIET)
        print("\n".join([*_sandbox_lines(sandbox, listener), "Press Ctrl-C to stop."]), flush=True)
        await servers.wait_for_stop()


def demo_settings(sandbox: Sandbox, sandbox_url: str, database_url: str, public_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_keys=(generate_key(),),
        public_url=public_url,
        trakt_client_id=sandbox.client_id,
        trakt_client_secret=sandbox.client_secret,
        tmdb_token=sandbox.tmdb_token,
        trakt_api_url=sandbox_url,
        trakt_auth_url=sandbox_url,
        tmdb_api_url=sandbox_url,
        tmdb_image_url=f"{sandbox_url}/t/p/",  # the sandbox draws posters: the demo has no network
    )


def _announce(code: DeviceCode) -> None:
    print(
        f"Signing in the demo user (code {code.user_code}, approved by the sandbox) ...",
        file=sys.stderr,
        flush=True,
    )


async def run_demo(host: str, port: int) -> None:
    """Sandbox + throwaway SQLite + sign-in + app, until Ctrl-C; the temp directory is then removed."""
    app_listener = listen(host, port)
    sandbox_listener = listen("127.0.0.1", 0)
    sandbox = create_sandbox()
    sandbox.configure({"device_interval": 0})  # approve at once: nobody types the code in a demo
    with tempfile.TemporaryDirectory(prefix="airdate-demo-") as workdir:
        database_url = f"sqlite+aiosqlite:///{Path(workdir) / 'airdate.db'}"
        await upgrade_async(database_url)
        settings = demo_settings(sandbox, sandbox_listener.url, database_url, app_listener.url)
        async with Servers() as servers:
            await servers.start(sandbox.app, sandbox_listener, **QUIET)
            async with open_services(settings) as services:
                signed_in = await device_sign_in(services, show_code=_announce)
                feed_url = services.accounts.feed_url(signed_in.feed.token)
            await servers.start(create_app(settings), app_listener, **QUIET)
            print(
                "\n".join(
                    [
                        f"Airdate demo for Trakt user {signed_in.slug!r}"
                        " (offline: everything is on this machine)",
                        f"  feed:      {feed_url}",
                        f"  subscribe: {webcal_url(feed_url)}",
                        f"  dashboard: {settings.public_url}/dashboard",
                        f"  data:      {workdir} (removed on exit)",
                        *_sandbox_lines(sandbox, sandbox_listener),
                        "Press Ctrl-C to stop.",
                    ]
                ),
                flush=True,
            )
            await servers.wait_for_stop()
    print("demo stopped; temporary data removed", file=sys.stderr, flush=True)
