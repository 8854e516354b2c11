"""`airdate demo` as a newcomer runs it: one process, offline, a working feed URL, a clean exit.

The demo brings its own sandbox, database and secret key, so the test gives it nothing but an empty
working directory and an environment without any AIRDATE_* variable, and then reads what it prints.
It runs as a real process because stopping on SIGTERM and Ctrl-C, and cleaning up, is the point.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import icalendar
import pytest

from tests.support.cli import AIRDATE, BASE_ENV

STARTUP_TIMEOUT = 60.0
LINE = re.compile(r"^\s+(feed|subscribe|dashboard|data):\s+(\S+)")


def read_announcement(process: subprocess.Popen[str]) -> dict[str, str]:
    """The labelled lines up to "Press Ctrl-C"; a demo that dies or hangs first fails with its stderr.

    Lines are read on a helper thread so a silent, hung demo ends in a timeout instead of a test
    blocked forever on the pipe.
    """
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    found: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None or line.startswith("Press Ctrl-C"):
            break
        if match := LINE.match(line):
            found[match[1]] = match[2]
    if line is None:
        process.kill()
        pytest.fail(f"demo did not finish starting; stderr:\n{process.stderr.read()}", pytrace=False)
    return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    assert AIRDATE.is_file(), f"{AIRDATE} is missing: install the project with `pip install -e .`"
    process = subprocess.Popen(
        [str(AIRDATE), "demo", "--port", "0"],
        cwd=tmp_path,
        env=BASE_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_demo_serves_a_calendar_and_cleans_up_on_sigterm(demo: subprocess.Popen[str]) -> None:
    urls = read_announcement(demo)
    feed = urls["feed"]
    port = re.match(r"http://127\.0\.0\.1:(\d+)/feeds/[A-Za-z0-9_-]{43}\.ics$", feed)
    assert port is not None and port[1] != "0", feed  # the real port, not the requested 0
    assert urls["subscribe"] == "webcal://" + feed.removeprefix("http://")
    assert urls["dashboard"] == f"http://127.0.0.1:{port[1]}/dashboard"
    workdir = Path(urls["data"])
    assert (workdir / "airdate.db").is_file()

    response = httpx.get(feed, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) > 0
    assert all(event.get("summary") for event in events)
    posters = {str(event["IMAGE"]) for event in events if event.get("IMAGE")}
    assert posters, "the demo's posters come from the sandbox"
    poster = httpx.get(next(iter(posters)), timeout=10)  # offline, the picture still loads
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/svg+xml"

    demo.send_signal(signal.SIGTERM)
    assert demo.wait(timeout=30) == 0
    assert demo.stderr is not None
    stderr = demo.stderr.read()
    assert "Traceback" not in stderr, stderr
    assert not workdir.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(feed, timeout=5)


def test_demo_stops_on_ctrl_c_too(demo: subprocess.Popen[str]) -> None:
    workdir = Path(read_announcement(demo)["data"])
    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=30) == 0
    assert not workdir.exists()
