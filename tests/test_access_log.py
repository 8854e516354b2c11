"""The access log: method, route (never a token, never a query), status, duration, bytes.

`airdate serve` is run for real, since what matters is every byte it prints; the in-process tests
pin down the route names and what a logged request costs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.store.secrets import new_feed_token
from app.web.access_log import ACCESS_LOGGER, AccessLog
from app.web.app import create_app
from tests.fixtures.app import connect, free_port
from tests.fixtures.sandbox import RunningSandbox
from tests.support.cli import env_for, running
from tests.support.inprocess import in_process
from tests.support.settings import sandbox_settings

OAUTH_CODE = "oauth-code-that-must-not-be-logged"
OAUTH_STATE = "oauth-state-that-must-not-be-logged"


@pytest.fixture
def settings(sqlite_template: Path, tmp_path: Path, sandbox: RunningSandbox) -> Settings:
    """A migrated SQLite database and the sandbox; the access log does not depend on the backend."""
    path = tmp_path / "airdate.db"
    shutil.copyfile(sqlite_template, path)
    sandbox.state.configure({"device_interval": 0})
    return sandbox_settings(f"sqlite+aiosqlite:///{path}", sandbox.url, f"http://127.0.0.1:{free_port()}")


def serve_and_poll(
    settings: Settings, sandbox: RunningSandbox, log_format: str, cwd: Path
) -> tuple[str, str]:
    """Run `airdate serve`, send the requests an operator's log must survive; (output, token)."""
    sandbox.clock.set(datetime.now(UTC))  # the server runs on the real clock
    token = asyncio.run(connect(settings, sandbox.clock)).token
    env = {**env_for(settings), "AIRDATE_LOG_FORMAT": log_format}
    with running(["serve", "--port", "0"], env, cwd, "Airdate serving on") as run:
        for path in (
            f"/feeds/{token}.ics",
            f"/feeds/{token}.json?past_days=3",
            f"/feeds/{token}.ics?colour=red",
            f"/feeds/{new_feed_token()}.ics",
            f"/feeds/..%2f{token}.ics",
            f"/feed/{token}.ics",  # a typo: no route, and still a token
            f"/auth/callback?code={OAUTH_CODE}&state={OAUTH_STATE}",
            "/healthz",
            "/readyz",
        ):
            httpx.get(run.url + path, timeout=30)
        httpx.post(f"{run.url}/feeds/{token}.ics", timeout=30)
    return run.output, token


def test_serve_logs_routes_not_tokens_or_queries(
    settings: Settings, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    output, token = serve_and_poll(settings, sandbox, "text", tmp_path)
    assert token not in output and token[:8] not in output and token[-8:] not in output
    assert OAUTH_CODE not in output and OAUTH_STATE not in output
    assert "?" not in output
    lines = [line for line in output.splitlines() if " airdate.access: " in line]
    routes = [line.split(" airdate.access: ", 1)[1].rsplit(" ", 2)[0] for line in lines]
    assert routes == [
        "GET /feeds/{token}.ics 200",
        "GET /feeds/{token}.json 200",
        "GET /feeds/{token}.ics 400",
        "GET /feeds/{token}.ics 404",
        "GET /feeds/{token}.ics 404",
        "GET - 404",
        "GET /auth/callback 400",
        "POST /feeds/{token}.ics 405",
    ], output
    assert re.search(r"GET /feeds/\{token\}\.ics 200 \d+\.\dms [1-9]\d*B$", lines[0]), lines[0]
    assert "healthz" not in output and "readyz" not in output  # probes are debug lines


def test_json_log_lines_carry_the_fields(settings: Settings, sandbox: RunningSandbox, tmp_path: Path) -> None:
    output, token = serve_and_poll(settings, sandbox, "json", tmp_path)
    assert token not in output and OAUTH_CODE not in output
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert all(set(record) >= {"time", "level", "logger", "message"} for record in records)
    assert any(record["logger"].startswith("uvicorn") for record in records)  # one format for all
    access = [record for record in records if record["logger"] == ACCESS_LOGGER]
    assert len(access) == 8
    first = access[0]
    assert (first["method"], first["route"], first["status"]) == ("GET", "/feeds/{token}.ics", 200)
    assert first["bytes"] > 0 and first["duration_ms"] >= 0


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_records() -> Iterator[list[logging.LogRecord]]:
    logger = logging.getLogger(ACCESS_LOGGER)
    capture = _Capture()
    logger.addHandler(capture)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield capture.records
    logger.setLevel(level)
    logger.removeHandler(capture)


async def test_route_names_levels_and_failures(
    settings: Settings, access_records: list[logging.LogRecord]
) -> None:
    async with in_process(create_app(settings, background=False)) as client:
        await client.get("/healthz")
        await client.get("/feeds/x.ics%0a")
        await client.get("/dashboard/feeds/12/edit?x=1")
        await client.get("/static/airdate.css")
        await client.request("TRACE", "/feeds/abc.json")
    got = [(logging.getLevelName(r.levelno), r.args[1:3]) for r in access_records]  # type: ignore[index]
    assert got == [
        ("DEBUG", ("/healthz", 200)),
        ("INFO", ("/feeds/{token}", 404)),
        ("INFO", ("/dashboard/feeds/{feed_id:int}/edit", 303)),
        ("INFO", ("/static", 200)),
        ("INFO", ("/feeds/{token}.json", 405)),
    ]


async def test_a_crash_is_logged_as_a_500(access_records: list[logging.LogRecord]) -> None:
    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await AccessLog(broken)({"type": "http", "method": "GET", "path": "/x"}, _no_receive, _no_send)
    assert access_records[0].args == ("GET", "-", 500, pytest.approx(0, abs=50), 0)


async def _no_receive() -> dict[str, object]:
    return {"type": "http.disconnect"}


async def _no_send(message: object) -> None:
    return None
