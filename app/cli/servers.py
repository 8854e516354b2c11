"""Several uvicorn servers in one event loop, stopped together by Ctrl-C or SIGTERM.

Why not `uvicorn.run`: `airdate demo` serves the sandbox and the app side by side, and uvicorn's own
signal capture belongs to one server (each would replace the other's handler, and after shutdown it
re-raises the signal, which kills the process before the demo can remove its temporary directory). So
signals are handled here once, for every server, and the verbs return normally with exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from app.cli.errors import CliError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_until_stopped`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True, slots=True)
class Listener:
    """A bound socket, so the real port (for `--port 0`) is known before any URL is printed."""

    sock: socket.socket
    host: str

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{shown}:{self.port}"


def listen(host: str, port: int) -> Listener:
    """Bind now; a taken port or a bad address becomes one line instead of a traceback later."""
    # IPPROTO_TCP explicitly: asyncio enables TCP_NODELAY only when the socket says it is TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        problem = exc.strerror or str(exc)
        raise CliError(f"cannot listen on {host}:{port} ({problem}); pick another --port") from None
    return Listener(sock=sock, host=host)


def run_serving(main: Coroutine[Any, Any, None]) -> None:
    """Run a serving verb to completion on uvloop when it is installed (it is a dependency, through
    `uvicorn[standard]`), else on asyncio's own loop.

    Why: with httptools (which uvicorn picks by itself when installed) uvloop serves warm feeds, 304s
    and cold feeds faster than h11 on asyncio (measured: docs/performance.md, "The server").
    uvicorn only picks the loop itself in `uvicorn.run`; our servers run inside a loop we start.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


class Servers:
    """Start servers one after another (each must be up before the next step), stop them together.

    Use as `async with Servers() as servers:`; leaving the block stops every server started in it.
    """

    def __init__(self) -> None:
        self._running: list[tuple[_Server, asyncio.Task[None]]] = []
        self._stop = asyncio.Event()

    async def __aenter__(self) -> Servers:
        # Installed for the whole block, so a signal during start-up or sign-in also stops cleanly.
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._stop.set)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._stop_servers()
        finally:
            loop = asyncio.get_running_loop()
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    async def start(self, app: ASGIApp, listener: Listener, **config: Any) -> None:
        server = _Server(uvicorn.Config(app, server_header=False, timeout_graceful_shutdown=5, **config))
        task = asyncio.create_task(server.serve(sockets=[listener.sock]))
        self._running.append((server, task))
        while not server.started:
            if task.done():
                raise CliError(f"the server on {listener.url} failed to start (see the log above)")
            await asyncio.sleep(0.01)

    async def wait_for_stop(self) -> None:
        """Until SIGINT/SIGTERM, or until any server ends by itself (uvicorn logs why)."""
        waiter = asyncio.create_task(self._stop.wait())
        await asyncio.wait(
            [waiter, *(task for _, task in self._running)], return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()

    async def _stop_servers(self) -> None:
        """Stop in reverse order (the app before the sandbox it talks to) and wait for each."""
        for server, task in reversed(self._running):
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
        self._running.clear()


def supervise(factory: str, listener: Listener, workers: int, **config: Any) -> None:
    """Run `workers` processes serving the app `factory` ("module:function") builds, until SIGTERM.

    Why uvicorn's supervisor: it hands the one listening socket to every worker, restarts a worker
    that dies, and passes SIGINT/SIGTERM on so each worker's lifespan shuts down as a single process
    does. Why a factory named by import path: the workers are fresh interpreters (spawned, not
    forked), so each builds its own app, engine and HTTP client.
    """
    settings = uvicorn.Config(
        factory, factory=True, workers=workers, server_header=False, timeout_graceful_shutdown=5, **config
    )
    Multiprocess(settings, sockets=[listener.sock]).run()
