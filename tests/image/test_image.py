"""The production image, built and run the way the README says, on a real Docker engine.

Run by `make image-test` (not `make test`). The engine is started here when none answers; one that
cannot start is a failure with its reason, never a skip. The base is a stand-in for
python:3.11-slim built from Debian packages (no registry is reachable here), or the image named by
AIRDATE_IMAGE_BASE; the lock's wheels are downloaded on the host, so the build reaches no network.

The tests run in file order and share one container: each is one check of the issue's list.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import icalendar
import pytest

from tests.image.docker import SANDBOX_PORT, check, docker, http_ok, inspect, wait_for

NAME = "airdate-image-test"
VOLUME = "airdate-image-test-data"
RESTORED = "airdate-image-test-restored"
UID = "10001"


def _remove_leftovers() -> None:
    docker("rm", "-f", NAME, check=False)
    docker("volume", "rm", "-f", VOLUME, RESTORED, check=False)


def _docker_run(image: str, env_file: Path, base_url: str) -> None:
    """The README's command, with the port published on loopback only."""
    port = base_url.rsplit(":", 1)[1]
    docker(
        "run",
        "-d",
        "--name",
        NAME,
        "-p",
        f"127.0.0.1:{port}:8000",
        "-v",
        f"{VOLUME}:/app/data",
        "--env-file",
        str(env_file),
        image,
    )


def _wait_healthz(base_url: str) -> None:
    def answered() -> httpx.Response | None:
        if inspect(NAME, "{{.State.Running}}") != "true":
            logs = docker("logs", NAME, check=False)
            raise AssertionError(f"the container stopped:\n{logs.stdout}\n{logs.stderr}")
        return http_ok(f"{base_url}/healthz")

    wait_for("/healthz answering", answered, timeout=60)


@pytest.fixture(scope="module")
def container(image: str, env_file: Path, base_url: str) -> Iterator[str]:
    _remove_leftovers()
    _docker_run(image, env_file, base_url)
    try:
        _wait_healthz(base_url)
        yield NAME
    finally:
        _remove_leftovers()


@pytest.fixture(scope="module")
def feed_url(container: str) -> str:
    """Sign in with the sandbox run inside the container (`airdate connect`, as an operator would)."""
    docker("exec", "-d", container, "airdate", "sandbox", "--port", str(SANDBOX_PORT))
    probe = (
        f"import urllib.request; urllib.request.urlopen("
        f"'http://127.0.0.1:{SANDBOX_PORT}/_sandbox/users', timeout=2)"
    )
    wait_for(
        "the sandbox in the container",
        lambda: docker("exec", container, "python", "-c", probe, check=False).returncode == 0 or None,
        timeout=30,
    )
    signed_in = json.loads(docker("exec", container, "airdate", "connect", "--json", timeout=60).stdout)
    check(f"signed in as {signed_in['user']!r} with `docker exec ... airdate connect` against the sandbox")
    url: str = signed_in["feed_url"]
    return url


POLLS = 3


def test_healthz_and_readyz_answer(container: str, base_url: str) -> None:
    assert httpx.get(f"{base_url}/healthz", timeout=5).text == "ok\n"
    ready = httpx.get(f"{base_url}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    check("/healthz and /readyz answer 200")


def test_the_server_is_pid_1_under_a_numeric_non_root_user(container: str) -> None:
    assert inspect(container, "{{.Config.User}}") == f"{UID}:{UID}"
    assert docker("exec", container, "id", "-u").stdout.strip() == UID
    status = docker("exec", container, "cat", "/proc/1/status").stdout
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == [UID] * 4, uid_line
    command = docker("exec", container, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert any(part.endswith("airdate") for part in command) and "serve" in command, command
    check(f"PID 1 is `{' '.join(command).strip()}` running as uid {UID}, not a shell")


def test_the_code_is_an_installed_wheel_with_bytecode_compiled_at_build_time(container: str) -> None:
    probe = (
        "import app, os, pathlib, sys; root = pathlib.Path(app.__file__).parent; "
        "print(root); print(len(list(root.rglob('*.cpython-311.pyc')))); "
        "print(os.access(root, os.W_OK)); print((root / 'migrations' / 'env.py').is_file())"
    )
    root, compiled, writable, migrations = docker("exec", container, "python", "-c", probe).stdout.split()
    assert root.startswith("/opt/venv/lib/") and root.endswith("/site-packages/app"), root
    assert int(compiled) >= 40, f"only {compiled} .pyc files under {root}"
    assert writable == "False" and migrations == "True"
    check(f"the service runs from the installed wheel in {root}, {compiled} modules precompiled")


def test_the_health_status_turns_healthy(container: str) -> None:
    status = wait_for(
        "health status healthy",
        lambda: inspect(container, "{{.State.Health.Status}}") == "healthy" or None,
        timeout=90,
    )
    assert status
    check("docker reports the container healthy")


def test_a_signed_in_feed_parses(feed_url: str) -> None:
    for _ in range(POLLS):
        response = httpx.get(feed_url, timeout=30)
        assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert events, "the feed has no events"
    check(f"the feed parses: {len(events)} events, {len(response.content)} bytes, polled {POLLS} times")


def test_docker_stop_is_graceful_and_flushes_the_poll_counts(container: str, feed_url: str) -> None:
    started = time.monotonic()
    docker("stop", container, timeout=30)
    elapsed = time.monotonic() - started
    exit_code = inspect(container, "{{.State.ExitCode}}")
    logs = docker("logs", container).stderr
    assert elapsed < 5, f"docker stop took {elapsed:.1f} s (SIGTERM did not reach the server)"
    assert exit_code == "0", f"exit code {exit_code}:\n{logs}"
    check(f"docker stop took {elapsed:.1f} s, exit code 0")

    docker("start", container)
    _wait_healthz(feed_url.split("/feeds/")[0])
    listed = json.loads(docker("exec", container, "airdate", "feeds", "list", "--json").stdout)
    counts = [feed["poll_count"] for feed in listed]
    assert counts == [POLLS], f"poll counts after the stop: {counts}"
    check(f"the {POLLS} polls were written at shutdown and survive a restart")


def test_data_survives_a_restart_and_a_re_create(
    container: str, image: str, env_file: Path, base_url: str, feed_url: str
) -> None:
    docker("restart", container, timeout=30)
    _wait_healthz(base_url)
    assert httpx.get(feed_url, timeout=30).status_code == 200
    check("the feed still answers after docker restart")

    docker("rm", "-f", container)
    _docker_run(image, env_file, base_url)
    _wait_healthz(base_url)
    response = httpx.get(feed_url, timeout=30)
    assert response.status_code == 200, response.text
    assert icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    check(f"the feed still answers from a new container on the volume {VOLUME}")


# The commands of docs/deployment.md "Backup and restore (SQLite)", character for character: the image
# has no sqlite3 binary, so Python's sqlite3 backup API makes a consistent copy of the live database.
BACKUP = (
    "import sqlite3; src = sqlite3.connect('/app/data/airdate.db'); "
    "dst = sqlite3.connect('/app/data/backup.db'); src.backup(dst); dst.close()"
)
RESTORE = (
    "import sqlite3; src = sqlite3.connect('/backup/airdate-backup.db'); "
    "dst = sqlite3.connect('/app/data/airdate.db'); src.backup(dst); dst.close()"
)


def test_a_backup_made_in_the_container_restores_into_a_new_volume(
    container: str, image: str, env_file: Path, base_url: str, feed_url: str, tmp_path: Path
) -> None:
    docker("exec", container, "python", "-c", BACKUP)
    tmp_path.chmod(0o755)  # the restore runs as uid 10001 and reads this directory
    copy = tmp_path / "airdate-backup.db"
    docker("cp", f"{container}:/app/data/backup.db", str(copy))
    docker("exec", container, "rm", "/app/data/backup.db")
    copy.chmod(0o644)
    with sqlite3.connect(copy) as db:
        (feeds,) = db.execute("SELECT count(*) FROM feeds").fetchone()
    assert feeds == 1
    check("backup made inside the container with Python's sqlite3 and copied out with docker cp")

    docker("rm", "-f", container)
    docker(
        "run",
        "--rm",
        "-v",
        f"{RESTORED}:/app/data",
        "-v",
        f"{tmp_path}:/backup:ro",
        image,
        "python",
        "-c",
        RESTORE,
    )
    port = base_url.rsplit(":", 1)[1]
    docker(
        "run",
        "-d",
        "--name",
        NAME,
        "-p",
        f"127.0.0.1:{port}:8000",
        "-v",
        f"{RESTORED}:/app/data",
        "--env-file",
        str(env_file),
        image,
    )
    _wait_healthz(base_url)
    response = httpx.get(feed_url, timeout=30)
    assert response.status_code == 200, response.text
    check(f"the backup restored into the new volume {RESTORED} serves the same feed URL")
