"""The access log: method, route (never a token, never a query), status, duration, bytes.

`airdate serve` is run for real, since what matters is every byte it prints; the in-process tests
pin down the route names and what a logged request costs.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

from app.core.config import Settings
from app.store.secrets import new_feed_token
from app.web.access_log import ACCESS_LOGGER, FORMAT, AccessLog
from app.web.app import create_app
from app.web.logs import FLUSH_SECONDS, JsonFormatter, TextFormatter
from app.web.logs import configure as configure_logging
from app.web.observe import Observe, Observer
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


def test_a_burst_of_polls_is_logged_line_for_line_by_the_time_serve_stops(
    settings: Settings, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Lines are written in batches: every one of them must still be out once SIGTERM stops serve,
    however recently it was logged."""
    sandbox.clock.set(datetime.now(UTC))
    token = asyncio.run(connect(settings, sandbox.clock)).token
    polls = 300

    async def burst(url: str) -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:

            async def poll_many(count: int) -> list[int]:
                return [(await client.get(url)).status_code for _ in range(count)]

            done = await asyncio.gather(*(poll_many(polls // 4) for _ in range(4)))
        return [status for statuses in done for status in statuses]

    with running(["serve", "--port", "0"], env_for(settings), tmp_path, "Airdate serving on") as run:
        statuses = asyncio.run(burst(f"{run.url}/feeds/{token}.ics"))
    assert statuses == [200] * polls
    polled = " airdate.access: GET /feeds/{token}.ics 200 "
    lines = [line for line in run.output.splitlines() if polled in line]
    assert len(lines) == polls, run.output[-2000:]


class _Stream(io.StringIO):
    """A log stream that records each write, to tell one batched write from one write per line."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def log_stream() -> Iterator[_Stream]:
    """Our log set-up on a stream of the test's, and every logging setting it touches put back after:
    left behind, it quietens httpx for the rest of the session (two later tests read httpx's lines)."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    quieted = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    flags = (logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    stream = _Stream()
    configure_logging("text", stream=stream)
    yield stream
    for handler in root.handlers:
        if handler not in saved[1]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved[0])
    for name, level in quieted.items():
        logging.getLogger(name).setLevel(level)
    logging.logThreads, logging.logProcesses, logging.logMultiprocessing = flags


def test_lines_wait_at_most_the_flush_interval_and_are_written_together(log_stream: _Stream) -> None:
    log = logging.getLogger(ACCESS_LOGGER)
    for number in range(100):
        log.info("line %d", number)
    deadline = time.monotonic() + FLUSH_SECONDS * 10
    while log_stream.getvalue().count("\n") < 100 and time.monotonic() < deadline:
        time.sleep(FLUSH_SECONDS / 4)
    lines = log_stream.getvalue().splitlines()
    assert [line.rsplit(": ", 1)[1] for line in lines] == [f"line {number}" for number in range(100)]
    assert log_stream.writes < 10  # batches, not a write per line
    # The text formatter writes exactly what logging's own Formatter writes for the same format.
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO airdate\.access: line 0", lines[0])


def test_any_other_record_is_written_at_once_with_the_access_lines_before_it(log_stream: _Stream) -> None:
    """uvicorn's last lines in a --workers process come just before it re-raises the stop signal,
    when no exit handler runs: they must carry every access line out with them."""
    logging.getLogger(ACCESS_LOGGER).info("before")
    logging.getLogger("airdate.test").info("Application shutdown complete.")
    lines = log_stream.getvalue().splitlines()  # no wait: the second record flushed both
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["before", "Application shutdown complete."]


def test_exceptions_are_formatted_as_logging_formats_them(log_stream: _Stream) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("airdate.test").exception("failed")
    text = log_stream.getvalue()
    assert "ERROR airdate.test: failed\nTraceback (most recent call last):" in text
    assert text.rstrip().endswith("ValueError: boom")


def test_logging_shutdown_writes_what_is_waiting(log_stream: _Stream) -> None:
    logging.getLogger(ACCESS_LOGGER).info("last words")
    logging.shutdown()  # what runs at interpreter exit
    assert "last words" in log_stream.getvalue()


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_an_access_entry_is_formatted_as_its_record_would_be(
    formatter: TextFormatter | JsonFormatter, level: int
) -> None:
    """Under `airdate serve` requests leave tuples, not records: the lines must not tell."""
    args = ("GET", "/feeds/{token}.ics", 200, 0.04999, 1234)
    record = logging.getLogger(ACCESS_LOGGER).makeRecord(ACCESS_LOGGER, level, "x", 0, FORMAT, args, None)
    assert formatter.format_access((record.created, level, *args)) == formatter.format(record)


async def test_a_request_leaves_an_entry_not_a_record_once_serve_configured_logging(
    log_stream: _Stream, access_records: list[logging.LogRecord]
) -> None:
    async def answer(
        scope: object, receive: object, send: Callable[[dict[str, object]], Awaitable[None]]
    ) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"abc"})

    await _observed(answer)({"type": "http", "method": "HEAD", "path": "/x"}, _no_receive, _no_send)
    logging.getLogger("airdate.test").warning("next")  # writes the waiting line first
    lines = log_stream.getvalue().splitlines()
    assert re.fullmatch(r"\S+ \S+ INFO airdate\.access: HEAD - 204 \d+\.\dms 3B", lines[0]), lines
    assert lines[1].endswith("WARNING airdate.test: next")
    assert access_records == []


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
        ("INFO", ("/dashboard/feeds/{feed_id}/edit", 303)),
        ("INFO", ("/static", 200)),
        ("INFO", ("/feeds/{token}.json", 405)),
    ]


async def test_a_failing_feed_poll_is_logged_as_the_500_it_answered(
    settings: Settings, access_records: list[logging.LogRecord]
) -> None:
    """Feed polls are answered and reported by the feed front, in front of Starlette's error
    middleware: a failure still leaves one access line, with the status and bytes the client got."""
    async with in_process(create_app(settings, background=False)) as client:
        with sqlite3.connect(settings.database_url.removeprefix("sqlite+aiosqlite:///")) as db:
            db.execute("ALTER TABLE feeds RENAME TO feeds_elsewhere")
        answer = await client.get(f"/feeds/{new_feed_token()}.ics")
    assert (answer.status_code, answer.text) == (500, "Internal server error\n")
    assert [record.args for record in access_records] == [
        ("GET", "/feeds/{token}.ics", 500, pytest.approx(0, abs=5_000), len(answer.content))
    ]


async def test_a_crash_is_logged_as_a_500(access_records: list[logging.LogRecord]) -> None:
    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await _observed(broken)({"type": "http", "method": "GET", "path": "/x"}, _no_receive, _no_send)
    assert access_records[0].args == ("GET", "-", 500, pytest.approx(0, abs=50), 0)


def _observed(app: ASGIApp) -> Observe:
    return Observe(app, Observer(AccessLog(), Counter()))


async def _no_receive() -> dict[str, object]:
    return {"type": "http.disconnect"}


async def _no_send(message: object) -> None:
    return None
