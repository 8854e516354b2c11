"""Several instances (or workers) on one database share the upstream work instead of repeating it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import icalendar

from app.core.config import Settings
from app.services.container import open_services
from app.store.accounts import FeedInfo
from app.web.app import create_app
from tests.fixtures.app import RunningApp, connect, free_port
from tests.fixtures.sandbox import RunningSandbox
from tests.support.cli import AIRDATE, env_for
from tests.support.server import serve
from tests.support.settings import sandbox_settings

TMDB = "/3/"


def test_two_instances_asked_for_one_cold_feed_at_once_look_each_poster_up_once(
    running_app: RunningApp, sandbox: RunningSandbox
) -> None:
    feed = running_app.connect()
    # Slow enough that the first instance's lookups are still in flight when the second one asks.
    sandbox.state.add_faults([{"prefix": TMDB, "delay_ms": 200}])
    second = create_app(running_app.settings, clock=sandbox.clock, background=False)
    with serve(second, port=free_port()) as second_url:
        urls = [f"{base}/feeds/{feed.token}.ics" for base in (running_app.url, second_url)]
        with ThreadPoolExecutor(len(urls)) as pool:
            responses = list(pool.map(lambda url: httpx.get(url, timeout=30), urls))
    assert [response.status_code for response in responses] == [200, 200]

    lookups = [(call.path, call.query) for call in sandbox.state.calls if call.path.startswith(TMDB)]
    assert lookups, "the feed has titles, so TMDB was asked"
    repeated = sorted({lookup for lookup in lookups if lookups.count(lookup) > 1})
    assert repeated == [], f"{len(repeated)} of {len(set(lookups))} lookups made twice"


def poll_count(settings: Settings, feed: FeedInfo) -> int:
    async def read() -> int:
        async with open_services(settings) as services:
            [stored] = await services.accounts.list_feeds(feed.user_id)
            return stored.poll_count

    return asyncio.run(read())


def worker_pids(parent: int) -> list[int]:
    """The uvicorn workers the `airdate serve` process `parent` spawned (not multiprocessing helpers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
            if int(fields[1]) == parent and b"spawn_main" in command:
                found.append(int(stat.parent.name))
    return sorted(found)


@contextmanager
def stopped(pids: list[int]) -> Iterator[None]:
    """These processes frozen (SIGSTOP), so every request must be answered by the others."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_serve_with_two_workers_answers_from_each_worker_and_they_share_the_cache(
    database_url: str, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox.clock.set(datetime.now(UTC))  # the workers run on the real clock
    sandbox.state.configure({"device_interval": 0})
    settings = sandbox_settings(database_url, sandbox.url, "http://127.0.0.1:8000")
    feed = asyncio.run(connect(settings, sandbox.clock))
    process = subprocess.Popen(
        [str(AIRDATE), "serve", "--port", "0", "--workers", "2"],
        env=env_for(settings),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        transcript = ""
        while transcript.count("Application startup complete") < 2:
            line = process.stdout.readline()
            assert line, f"serve exited with {process.wait()}:\n{transcript}"
            transcript += line
        found = re.search(r"Airdate serving on (http://127\.0\.0\.1:\d+) with 2 worker processes", transcript)
        assert found is not None, transcript
        base, workers = found[1], worker_pids(process.pid)
        assert len(workers) == 2, transcript

        bodies = []
        for worker in workers:  # each worker alone answers, and serves the feed
            with stopped([other for other in workers if other != worker]):
                assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
                response = httpx.get(f"{base}/feeds/{feed.token}.ics", timeout=20)
            assert response.status_code == 200
            assert icalendar.Calendar.from_ical(response.content).walk("VEVENT")
            bodies.append(response.content)
        assert bodies[0] == bodies[1]
        # The second worker found the first one's calendar chunks: Trakt was asked once per chunk.
        calendar_calls = [(c.path, c.query) for c in sandbox.state.calls if c.path.startswith("/calendars/")]
        assert calendar_calls and len(calendar_calls) == len(set(calendar_calls))

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        rest = process.stdout.read()
        assert rest.count("Application shutdown complete") == 2, rest
        assert "Traceback" not in transcript + rest
        assert poll_count(settings, feed) == 2  # each worker wrote its own poll on the way out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
