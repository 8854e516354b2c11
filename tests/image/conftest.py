"""The image tests build and run the Docker image; they take minutes and need a container engine,
so `make test` leaves them out and `make image-test` (which sets AIRDATE_IMAGE_TEST=1) runs them.

The fixtures here are shared by the image and compose tests: one engine, one build, one env file.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.app import free_port
from tests.image.docker import SANDBOX_PORT, TAG, check, docker, run

if os.environ.get("AIRDATE_IMAGE_TEST") != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    """A Docker engine that answers; stopped afterwards if this test started it."""
    started = run("bash", "scripts/dockerd.sh", timeout=120, check=False)
    if started.returncode != 0:
        pytest.fail(f"no Docker engine: {started.stderr.strip()}")
    pid = started.stdout.strip()
    check(f"Docker engine answers ({'started by the test, pid ' + pid if pid else 'already running'})")
    yield
    if pid:
        os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)


@pytest.fixture(scope="session")
def image(engine: None) -> str:
    base = (
        os.environ.get("AIRDATE_IMAGE_BASE")
        or run("bash", "scripts/standin-image.sh", "python", timeout=900).stdout.strip().splitlines()[-1]
    )
    check(f"base image {base}")
    wheelhouse = run("bash", "scripts/wheelhouse.sh", timeout=600).stdout.strip().splitlines()[-1]
    started = time.monotonic()
    docker(
        "build",
        "--pull=false",
        "-t",
        TAG,
        "--build-arg",
        f"BASE={base}",
        "--build-arg",
        f"WHEELHOUSE={wheelhouse}",
        ".",
        timeout=1200,
    )
    check(f"image built offline from {wheelhouse} in {time.monotonic() - started:.0f} s")
    return TAG


@pytest.fixture(scope="session")
def env_file(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .env a person writes, with the key made inside Docker as deploy/.env.example says."""
    key = docker("run", "--rm", image, "airdate", "keygen").stdout.strip()
    assert key and "\n" not in key
    port = free_port()
    sandbox = f"http://127.0.0.1:{SANDBOX_PORT}"
    path = tmp_path_factory.mktemp("env") / ".env"
    path.write_text(
        "\n".join(
            [
                f"AIRDATE_SECRET_KEYS={key}",
                f"AIRDATE_PUBLIC_URL=http://127.0.0.1:{port}",
                "AIRDATE_TRAKT_CLIENT_ID=sandbox-client-id",
                "AIRDATE_TRAKT_CLIENT_SECRET=sandbox-client-secret",
                "AIRDATE_TMDB_TOKEN=sandbox-tmdb-token",
                f"AIRDATE_TRAKT_API_URL={sandbox}",
                f"AIRDATE_TRAKT_AUTH_URL={sandbox}",
                f"AIRDATE_TMDB_API_URL={sandbox}",
                "",
            ]
        )
    )
    return path


@pytest.fixture(scope="session")
def base_url(env_file: Path) -> str:
    for line in env_file.read_text().splitlines():
        if line.startswith("AIRDATE_PUBLIC_URL="):
            return line.split("=", 1)[1]
    raise AssertionError("no public URL in the env file")
