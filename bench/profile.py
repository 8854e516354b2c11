"""`--profile DIR`: sample the app process with py-spy while a throughput benchmark loads it.

Why built in: "what dominates the warm path" should be answerable by anyone with one command, from
the same load the figures come from, not from a hand-made setup that may differ.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench.procs import BenchError

ATTACH_SECONDS = 0.5  # py-spy needs a moment to attach before the load starts


def py_spy() -> str:
    """The py-spy executable (installed into the venv or on PATH); a clear error when missing."""
    beside_python = Path(sys.executable).with_name("py-spy")
    found = str(beside_python) if beside_python.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


@asynccontextmanager
async def recording(pid: int, output: Path | None) -> AsyncIterator[None]:
    """Write a flame graph (SVG) of `pid` for the block's duration; does nothing when `output` is None."""
    if output is None:
        yield
        return
    process = await asyncio.create_subprocess_exec(
        py_spy(),
        "record",
        "--pid",
        str(pid),
        "--output",
        str(output),
        "--format",
        "flamegraph",
        "--rate",
        "250",
        "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(ATTACH_SECONDS)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        _, errors = await process.communicate()
        if process.returncode != 0:
            raise BenchError(f"py-spy failed ({process.returncode}): {errors.decode(errors='replace')}")
        print(f"  flame graph of the app: {output}")
