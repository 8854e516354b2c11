"""A TCP front for the sandbox that can refuse connections, as a host that is down does.

Why a separate front: a "Trakt is down" that answers 503 still accepts the connection; a real outage
often does not. Closing the sandbox's own socket would also cut off the control API, so the product
is pointed at the gate instead, and the gate stops listening (connections are refused, and those
already open are cut) until it is told to admit again. It forwards bytes and knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any

READ_SIZE = 65536


class Gate:
    """Forwards 127.0.0.1:`port` to `target`; `refuse()` and `admit()` switch it off and on."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.cut = 0  # open connections cut by `refuse()`; new ones are refused by the kernel

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refuse(self) -> None:
        """Stop listening and cut every open connection; returns once no connection can get through."""
        self._call(self._close())

    def admit(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port, reuse_address=True)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            self.cut += 1
            writer.transport.abort()

    async def _pipe(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        writers = {client_writer, upstream_writer}
        self._open |= writers
        try:
            await asyncio.gather(_copy(client_reader, upstream_writer), _copy(upstream_reader, client_writer))
        finally:
            self._open -= writers
            for writer in writers:
                writer.transport.abort()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    @contextmanager
    def running(self) -> Iterator[Gate]:
        """Run the gate on its own thread and loop (admitting) for the `with` block."""
        thread = threading.Thread(target=self._run, daemon=True, name="sandbox-gate")
        thread.start()
        try:
            self.admit()
            yield self
        finally:
            self.refuse()
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(timeout=10)
            self._loop.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close, so HTTP keep-alive and close both pass through."""
    with suppress(ConnectionError, OSError):
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
