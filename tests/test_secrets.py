"""Secrets: no token, key, client secret or TMDB token in any repr, log record, output or raw row.

A secret printed once is a secret kept forever in someone's log collector, so this is searched
everywhere a person or a tool could read: the repr and str of every service object, every log record
of a whole scenario (root logger at DEBUG), every byte the CLI and a real `airdate serve` print, and
the database as stored (the SQLite file and its WAL, PostgreSQL's rows).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import logging
import re
import secrets
import subprocess
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.sandbox import Sandbox, create_sandbox
from app.services.container import open_services
from app.store.engine import create_engine
from app.store.secrets import generate_key, new_feed_token
from app.store.tables import Base
from app.web.app import create_app
from tests.fixtures.app import free_port
from tests.fixtures.sandbox import FakeClock
from tests.support.cli import env_for, run_airdate, running
from tests.support.inprocess import BASE_URL, in_process
from tests.support.server import serve
from tests.support.settings import sandbox_settings

DB_PASSWORD = "db-password-never-shown"


def settings_with_secrets(tmp_path: Path, tmdb_token: str = "eyJ-a-v4-read-token-never-shown") -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        secret_keys=(generate_key(), generate_key()),
        trakt_client_id="client-id",
        trakt_client_secret="client-secret-never-shown",
        tmdb_token=tmdb_token,
    )


def secrets_of(settings: Settings) -> list[str]:
    found = [*settings.secret_keys, settings.trakt_client_secret, settings.tmdb_token]
    return [secret for secret in found if secret]


def assert_hidden(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{where} shows a secret"


def test_settings_repr_and_str_hide_secrets_but_show_the_rest(tmp_path: Path) -> None:
    settings = settings_with_secrets(tmp_path)
    pg = dataclasses.replace(settings, database_url=f"postgresql+asyncpg://airdate:{DB_PASSWORD}@db/airdate")
    for shown in (repr(settings), str(settings), repr(pg), f"{pg}"):
        assert_hidden(shown, [*secrets_of(settings), DB_PASSWORD], "Settings")
        assert "trakt_client_id='client-id'" in shown
        assert "tmdb_token='***'" in shown and "trakt_client_secret='***'" in shown
        assert "secret_keys=('***', '***')" in shown
    assert "postgresql+asyncpg://airdate:***@db/airdate" in repr(pg)
    assert "tmdb_token=None" in repr(Settings())


async def test_no_service_object_shows_a_secret(tmp_path: Path) -> None:
    """repr/str of `Services` and of each service in it, and of what the clients hold (the HTTP
    client, its headers); both TMDB token kinds (a v4 Bearer token, a v3 key sent as a parameter)."""
    for token in ("eyJ-a-v4-read-token-never-shown", "v3-key-never-shown"):
        settings = settings_with_secrets(tmp_path, tmdb_token=token)
        secrets = secrets_of(settings)
        async with open_services(settings) as services:
            objects: dict[str, object] = {"Services": services}
            for field in dataclasses.fields(services):
                objects[field.name] = getattr(services, field.name)
            objects["http.headers"] = services.http.headers
            for name, value in objects.items():
                assert_hidden(repr(value), secrets, f"repr({name})")
                assert_hidden(str(value), secrets, f"str({name})")


# -- a whole scenario, every byte searched ---------------------------------------------------------

URL_PRINTING = {"connect", "feeds list", "feeds create", "feeds rotate"}  # their stdout is the URL


class RecordAll(logging.Handler):
    """Every record any logger makes, formatted with its exception: what any handler could print."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.loggers: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "httpx" and f" {BASE_URL}/" in message:
            return  # the test's own client calling the app in process: the product never calls itself
        self.loggers[record.name] += 1
        text = f"{record.name} {record.levelname} {message}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)


@dataclass
class Scenario:
    """What a run printed, where, and the secrets it made along the way."""

    settings: Settings
    sandbox: Sandbox
    cwd: Path
    outputs: dict[str, str] = field(default_factory=dict)  # "verb #n stdout" -> text
    feed_tokens: set[str] = field(default_factory=set)
    stored: list[bytes] = field(default_factory=list)  # the database as stored, at moments
    calls: int = 0

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = run_airdate(*args, env={**env_for(self.settings), **env}, cwd=self.cwd)
        verb = " ".join(args[:2]) if args[0] == "feeds" else args[0]
        self.calls += 1
        number = self.calls
        self.outputs[f"{verb} #{number} stdout"] = result.stdout
        self.outputs[f"{verb} #{number} stderr"] = result.stderr
        self.feed_tokens.update(re.findall(r"/feeds/([A-Za-z0-9_-]{43})\.ics", result.stdout))
        return result

    def upstream_secrets(self) -> dict[str, str]:
        found = {"client secret": self.sandbox.client_secret, "TMDB token": self.sandbox.tmdb_token}
        for number, token in enumerate(self.sandbox.auth.tokens.values()):
            found[f"access token {number}"] = token.access_token
            found[f"refresh token {number}"] = token.refresh_token
        for number, code in enumerate(self.sandbox.auth.device_codes):
            found[f"device code {number}"] = code
        return found

    async def snapshot_database(self) -> None:
        """The bytes a copy of the database would hold: SQLite's file and WAL, PostgreSQL's rows."""
        url = make_url(self.settings.database_url)
        if url.get_backend_name() == "sqlite":
            path = Path(url.database or "")
            for part in (path, path.with_name(path.name + "-wal")):
                if part.exists():
                    self.stored.append(part.read_bytes())
            return
        engine = create_engine(self.settings.database_url)
        try:
            async with engine.connect() as connection:
                for table in Base.metadata.sorted_tables:
                    query = f'SELECT row_to_json(t)::text FROM "{table.name}" t'
                    rows = await connection.exec_driver_sql(query)
                    self.stored.append("\n".join(row[0] for row in rows).encode())
        finally:
            await engine.dispose()


def serve_requests(scenario: Scenario, tokens: list[str]) -> None:
    """A real `airdate serve` (JSON log) answering polls, misses, sign-in pages and probes."""
    env = {**env_for(scenario.settings), "AIRDATE_LOG_FORMAT": "json"}
    with running(["serve", "--port", "0"], env, scenario.cwd, "Airdate serving on") as run:
        port = int(run.url.rsplit(":", 1)[1])
        for token in tokens:
            assert _status(port, f"/feeds/{token}.ics") == 200
            assert _status(port, f"/feeds/{token}.json?past_days=3") == 200
            assert _status(port, f"/feeds/{token}.ics?download=1&all_day=yes") == 400
            assert _status(port, f"/feeds/{token}.ics%0a") == 404
            assert _status(port, f"/feed/{token}.ics") == 404
            assert _status(port, f"/feeds/{token}.ics", "POST") == 405
        assert _status(port, "/auth/login") in (302, 303, 307)
        _status(port, f"/auth/callback?code={'x' * 40}&state={'y' * 40}")
        for path in ("/healthz", "/readyz", "/metrics", "/dashboard", f"/feeds/{new_feed_token()}.ics"):
            _status(port, path)
    scenario.outputs["serve output"] = run.output
    assert '"route": "/feeds/{token}.ics"' in run.output  # the access log was on


def _status(port: int, path: str, method: str = "GET") -> int:
    """One request with the standard library's client, which logs nothing: httpx in this process
    would log the feed URLs it is asked to fetch, and those records would be the test's, not ours."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


async def in_process_polls(scenario: Scenario, token: str, clock: FakeClock) -> None:
    """Polls in this process (every record reaches the capture): a token refresh, upstream errors."""
    app = create_app(scenario.settings, clock=clock, background=False)
    async with in_process(app) as client:
        clock.advance(days=8)  # past the access token's week: the next fetch refreshes it
        assert (await client.get(f"/feeds/{token}.ics")).status_code == 200
        assert sum(scenario.sandbox.auth.refreshes.values()) >= 1
        await scenario.snapshot_database()  # while the app holds it open (SQLite: the WAL is there)
        scenario.sandbox.add_faults(
            [
                {"prefix": "/calendars", "status": 503, "times": 4},
                {"prefix": "/3/", "status": 500},
            ]
        )
        clock.advance(hours=3)
        await client.get(f"/feeds/{token}.ics?past_days=30")
        await client.get(f"/feeds/{token}.json?future_days=200")
        scenario.sandbox.faults.clear()


async def refused_refresh(scenario: Scenario, token: str, clock: FakeClock) -> None:
    """Trakt refuses the refresh token (invalid_grant): the feed keeps serving, the user must reconnect."""
    scenario.sandbox.auth.refresh_index.clear()
    app = create_app(scenario.settings, clock=clock, background=False)
    async with in_process(app) as client:
        clock.advance(days=8)
        await client.get(f"/feeds/{token}.ics?past_days=60")
    await scenario.snapshot_database()


@pytest.fixture
def private_sandbox() -> Iterator[tuple[Sandbox, str, FakeClock]]:
    """A sandbox of our own, with credentials no other test uses, so each one is findable."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    sandbox = create_sandbox(
        clock,
        client_id="secrets-suite-client-id",
        client_secret=f"client-secret-{secrets.token_hex(16)}",
        tmdb_token=f"tmdb-v3-key-{secrets.token_hex(16)}",  # a v3 key travels in the query: the riskier
    )
    sandbox.configure({"device_interval": 0})
    with serve(sandbox.app) as url:
        yield sandbox, url, clock


def test_a_whole_scenario_leaks_nothing(
    database_url: str,
    private_sandbox: tuple[Sandbox, str, FakeClock],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    sandbox, sandbox_url, clock = private_sandbox
    first_key, second_key = generate_key(), generate_key()
    settings = sandbox_settings(
        database_url,
        sandbox_url,
        f"http://127.0.0.1:{free_port()}",
        secret_keys=(first_key,),
        trakt_client_id=sandbox.client_id,
        trakt_client_secret=sandbox.client_secret,
        tmdb_token=sandbox.tmdb_token,
    )
    scenario = Scenario(settings, sandbox, tmp_path)
    records = RecordAll()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        assert scenario.cli("connect", "--json").returncode == 0
        assert scenario.cli("feeds", "create", "--name", "Movies", "--set", "sources=movies").returncode == 0
        listing = scenario.cli("feeds", "list").stdout
        listed = re.findall(r"^#(\d+) .*\n\s+url:\s+(\S+)$", listing, re.MULTILINE)
        (first_id, first_url), (second_id, second_url) = sorted(listed, key=lambda feed: int(feed[0]))
        serve_requests(scenario, sorted(scenario.feed_tokens))
        asyncio.run(in_process_polls(scenario, token_of(first_url), clock))
        assert scenario.cli("feeds", "rotate", first_id).returncode == 0
        rotated_keys = f"{second_key},{first_key}"
        assert scenario.cli("rekey", AIRDATE_SECRET_KEYS=rotated_keys).returncode == 0
        scenario.settings = dataclasses.replace(settings, secret_keys=(second_key, first_key))
        scenario.cli("doctor")
        scenario.cli("export", "--feed", second_id)
        asyncio.run(refused_refresh(scenario, token_of(second_url), clock))
    finally:
        root.removeHandler(records)
        root.setLevel(level)
    printed_here = capfd.readouterr()

    feed_tokens = {f"feed token {number}": token for number, token in enumerate(sorted(scenario.feed_tokens))}
    keys = {"first secret key": first_key, "second secret key": second_key}
    everything = {**feed_tokens, **keys, **scenario.upstream_secrets()}
    assert len(feed_tokens) == 3 and len(everything) >= 10  # two feeds, one rotated; tokens refreshed
    places = {
        "log records": "\n".join(records.lines),
        "this process's stdout": printed_here.out,
        "this process's stderr": printed_here.err,
        **scenario.outputs,
    }
    leaks = [
        f"{name} in {place}: {_around(text, secret)}"
        for place, text in places.items()
        for name, secret in everything.items()
        if secret in text and not (name.startswith("feed token") and _prints_urls(place))
    ]
    stored = b"\n".join(scenario.stored)
    leaks += [
        f"{name} in the stored database" for name, secret in everything.items() if secret.encode() in stored
    ]
    assert leaks == []
    # Controls: the search can find a token where one is meant to be, and the capture saw the run.
    assert any(token in scenario.outputs["feeds list #3 stdout"] for token in scenario.feed_tokens)
    assert scenario.outputs["export #7 stdout"].startswith("BEGIN:VCALENDAR")
    assert records.loggers["airdate.access"] >= 4 and records.loggers["app.upstream.connections"] >= 2
    assert any("refreshed" in line for line in records.lines)
    assert any("needs reconnect" in line for line in records.lines)
    assert any(line.startswith("httpx INFO HTTP Request") for line in records.lines)
    assert len(stored) > 10_000


def _around(text: str, secret: str) -> str:
    """Where a secret showed, with the secret itself blanked out of the failure message."""
    at = text.index(secret)
    return repr(text[max(0, at - 200) : at + len(secret) + 80].replace(secret, "<SECRET>"))


def _prints_urls(place: str) -> bool:
    """Whether `place` is the stdout of a verb that exists to print feed URLs to their owner."""
    found = re.fullmatch(r"(.+) #\d+ stdout", place)
    return found is not None and found[1] in URL_PRINTING


def token_of(feed_url: str) -> str:
    return feed_url.rsplit("/", 1)[1].removesuffix(".ics")
