"""The Docker CLI as the image tests use it: one call, its output, and a clear failure."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[2]
# The legacy builder is what this machine's Debian engine has; the Dockerfile must build with it.
ENV = {**os.environ, "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}

TAG = "airdate:image-test"
SANDBOX_PORT = 8765  # inside the container, beside the service

T = TypeVar("T")


def run(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("docker", *args, timeout=timeout, check=check)


def inspect(name: str, template: str) -> str:
    return docker("inspect", "-f", template, name).stdout.strip()


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Call `probe` until it returns something other than None; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)


def http_ok(url: str) -> httpx.Response | None:
    """The response when `url` answers 200, else None (refused, reset, or another status)."""
    try:
        response = httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None
    return response if response.status_code == 200 else None


def check(message: str) -> None:
    """One line per check, so `make image-test` shows what was proved."""
    print(f"  image check: {message}", flush=True)
