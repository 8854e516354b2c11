"""Benchmark 9: the app on httptools + uvloop (uvicorn[standard]) against h11 on asyncio.

Why: `airdate serve` runs on httptools and uvloop (`app.cli.servers.run_serving`) because they
served Airdate faster; this keeps that claim measured. Both servers run the real app with uvicorn's
access log on, as serve has it, side by side in interleaved rounds; the best round of each counts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack

from bench.lab import TYPICAL_FEED, Lab, feed_path
from bench.load import load
from bench.procs import BenchError, Server, uvicorn_server
from bench.report import Result, rate
from bench.sizes import Sizes
from bench.warm import first_answer

STACKS = {
    "h11 + asyncio": ("--http", "h11", "--loop", "asyncio"),
    "httptools + uvloop": ("--http", "httptools", "--loop", "uvloop"),
}
ACCESS_LOG = ("--log-level", "info")  # uvicorn logs every request at info, as under `airdate serve`
TARGET = 1.0  # the default stack must be at least as fast as the one it replaced


async def run(lab: Lab, sizes: Sizes, selected: Sequence[int]) -> list[Result]:
    for module in ("httptools", "uvloop"):
        if importlib.util.find_spec(module) is None:
            raise BenchError(f"{module} is not installed: install the project (uvicorn[standard])")
    deployment = await lab.deployment()
    path = feed_path(await lab.connect(deployment, "stack", TYPICAL_FEED))
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                uvicorn_server(
                    f"app-{flags[1]}",
                    "bench.targets:airdate",
                    deployment.env,
                    lab.workdir,
                    flags=(*flags, *ACCESS_LOG),
                )
            )
            for flags in STACKS.values()
        ]
        answers = [await first_answer(server.url + path) for server in servers]
        body, headers = answers[0]
        if any(answer[0] != body for answer in answers):
            raise BenchError("the two stacks serve different bytes")
        return [
            await _race(servers, path, {}, 200, sizes, "warm 200"),
            await _race(servers, path, {"If-None-Match": headers["ETag"]}, 304, sizes, "304"),
        ]


async def _race(
    servers: list[Server], path: str, headers: Mapping[str, str], expect: int, sizes: Sizes, label: str
) -> Result:
    best = [0.0 for _ in servers]
    for server in servers:  # warm-up
        await load(
            server.url,
            [path],
            requests=sizes.connections * 20,
            connections=sizes.connections,
            headers=headers,
            expect=expect,
        )
    for _ in range(sizes.throughput_rounds):
        for index, server in enumerate(servers):
            run_ = await load(
                server.url,
                [path],
                requests=sizes.throughput_requests,
                connections=sizes.connections,
                headers=headers,
                expect=expect,
            )
            best[index] = max(best[index], run_.per_second)
    old, new = best
    names = list(STACKS)
    print(f"  {label}: {names[0]} {rate(old, 1, 'req')}, {names[1]} {rate(new, 1, 'req')}")
    return Result(
        f"9. server stack, {label}",
        f"{rate(new, 1, 'req')} {names[1]}",
        f"{rate(old, 1, 'req')} {names[0]}",
        new / old,
        f">= {TARGET}x {names[0]}",
        new / old >= TARGET,
    )
