"""Servers as child processes: the app exactly as deployed (`airdate serve`), the baselines on the
same HTTP stack.

Why processes: the load generator must not share an interpreter (and its GIL) with the server it
measures. Why `airdate serve`: the figure that matters is what a deployment serves, with whatever
serve turns on (its access log, its HTTP implementation and event loop); the bare baseline runs
under uvicorn with the same HTTP implementation and loop, so a ratio isolates what the product adds.
Every child is stopped by its own pid when the `async with` block ends, failure or not.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
AIRDATE = Path(sys.executable).with_name("airdate")
# The stack `airdate serve` runs on (uvicorn picks httptools when installed; serve's loop is
# uvloop when installed, see app.cli.run), spelled out for the baselines. They log no access lines:
# a bare app is the floor, and the app's own access log is part of what the app costs.
UVICORN_FLAGS = ("--loop", "auto", "--http", "auto", "--log-level", "warning", "--no-access-log")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class BenchError(RuntimeError):
    """A benchmark could not run as designed (a server died, a response was wrong)."""


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    url: str
    pid: int

    def rss_kib(self) -> int:
        """Resident memory now, from the kernel's own accounting of the server process."""
        return _status_field(self.pid, "VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def uvicorn_server(
    name: str,
    factory: str,
    env: Mapping[str, str],
    logs: Path,
    ready_path: str = "/healthz",
    flags: Sequence[str] = UVICORN_FLAGS,
) -> AsyncIterator[Server]:
    """Run `factory` (module:function returning an ASGI app) until the block exits."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *flags,
    ]
    async with _child(name, command, port, env, logs, ready_path) as server:
        yield server


@asynccontextmanager
async def airdate_serve(name: str, env: Mapping[str, str], logs: Path) -> AsyncIterator[Server]:
    """The installed `airdate serve` command with `env` as its configuration, until the block exits.

    It runs in `logs` (a temp dir), so no `.env` of the checkout can change its settings; its
    access log goes to `<logs>/<name>.log` like any other output.
    """
    port = free_port()
    if not AIRDATE.is_file():
        raise BenchError(f"{AIRDATE} is missing: install the project (`make venv`)")
    command = [str(AIRDATE), "serve", "--host", "127.0.0.1", "--port", str(port)]
    async with _child(name, command, port, env, logs, "/healthz", cwd=logs) as server:
        yield server


@asynccontextmanager
async def _child(
    name: str,
    command: list[str],
    port: int,
    env: Mapping[str, str],
    logs: Path,
    ready_path: str,
    cwd: Path = REPO,
) -> AsyncIterator[Server]:
    log_path = logs / f"{name}.log"
    child_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=child_env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    server = Server(name=name, url=f"http://127.0.0.1:{port}", pid=process.pid)
    try:
        await _wait_ready(process, server.url + ready_path, log_path)
        yield server
    finally:
        await _stop(process)


def auto_stack() -> str:
    """The HTTP implementation and event loop uvicorn's "auto" picks on this install."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http} + {loop}"


def _die_with_parent() -> None:
    """In the child before exec: if the benchmark process is killed outright (SIGKILL, no cleanup
    runs), the kernel sends this server SIGTERM, so no uvicorn outlives its benchmark."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


async def _wait_ready(process: asyncio.subprocess.Process, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise BenchError(f"server exited with {process.returncode}:\n{_tail(log_path)}")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise BenchError(f"server not answering {url} after {START_TIMEOUT:.0f} s:\n{_tail(log_path)}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _status_field(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == field:
            return int(value.split()[0])
    raise BenchError(f"/proc/{pid}/status has no {field}")
