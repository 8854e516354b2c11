"""A small HTTP/1.1 load generator: N keep-alive connections, a fixed number of GETs, latencies.

Why not httpx here: per request httpx spends more CPU than bare Starlette does answering, so on a
small machine an httpx client would measure itself and flatter the slower server's ratio. This
client writes pre-built request bytes and reads `Content-Length` framed answers, which is all a
feed server sends; anything else (chunked bodies, unexpected statuses) stops the run with an error.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.procs import BenchError


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: tuple[float, ...]  # sorted, seconds
    statuses: Mapping[int, int]
    body_bytes: int

    @classmethod
    def combined(cls, runs: Sequence[LoadResult]) -> LoadResult:
        """Several runs as one, e.g. interleaved rounds whose latencies should be judged together."""
        statuses: Counter[int] = Counter()
        for run in runs:
            statuses.update(run.statuses)
        return cls(
            requests=sum(run.requests for run in runs),
            seconds=sum(run.seconds for run in runs),
            latencies=tuple(sorted(latency for run in runs for latency in run.latencies)),
            statuses=dict(statuses),
            body_bytes=sum(run.body_bytes for run in runs),
        )

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        index = min(len(self.latencies) - 1, round(fraction * (len(self.latencies) - 1)))
        return self.latencies[index]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p95(self) -> float:
        return self.percentile(0.95)


async def load(
    base_url: str,
    paths: Sequence[str],
    *,
    requests: int,
    connections: int,
    headers: Mapping[str, str] | None = None,
    expect: int = 200,
) -> LoadResult:
    """GET `paths` round-robin, `requests` times in all, over `connections` keep-alive connections."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    wire = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: identity\r\n{extra}\r\n".encode()
        for path in paths
    ]
    tally = _Tally(itertools.islice(itertools.cycle(wire), requests))
    started = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, tally) for _ in range(connections)))
    seconds = time.perf_counter() - started
    if set(tally.statuses) != {expect}:
        raise BenchError(f"expected only {expect} from {base_url}, got {dict(tally.statuses)}")
    latencies = tuple(sorted(tally.latencies))
    return LoadResult(requests, seconds, latencies, dict(tally.statuses), tally.body_bytes)


class _Tally:
    """The requests still to send and what came back, shared by every connection of one run (all on
    one event loop, so no locks)."""

    def __init__(self, requests: Iterator[bytes]) -> None:
        self._requests = requests
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.body_bytes = 0

    def take(self) -> bytes | None:
        return next(self._requests, None)

    def record(self, status: int, body_bytes: int, seconds: float) -> None:
        self.statuses[status] += 1
        self.body_bytes += body_bytes
        self.latencies.append(seconds)


async def _worker(host: str, port: int, tally: _Tally) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while (request := tally.take()) is not None:
            sent = time.perf_counter()
            writer.write(request)
            status, length = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if length:
                await reader.readexactly(length)
            tally.record(status, length, time.perf_counter() - sent)
    finally:
        writer.close()
        await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, int]:
    """(status, body length) of a response head; refuses framing this client cannot follow."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "transfer-encoding" in fields:
        raise BenchError(f"unsupported Transfer-Encoding {fields['transfer-encoding']!r}")
    if "content-length" in fields:
        return status, int(fields["content-length"])
    if status in (204, 304) or 100 <= status < 200:
        return status, 0
    raise BenchError(f"response {status} without Content-Length")
