"""`python -m bench [--quick] [--only 1,5]`: run the benchmarks, print the table.

Why the exit status ignores MISSED: a missed target is a finding to report and investigate, not a
broken run; a benchmark that could not run at all (a server died, a wrong answer) exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench import cold, crowd, daily, economy, render, scale, stack, warm
from bench.lab import Lab, open_lab
from bench.procs import AIRDATE, UVICORN_FLAGS, auto_stack
from bench.profile import py_spy
from bench.report import Result, machine, table
from bench.sizes import FULL, QUICK, Sizes

Runner = Callable[[Lab, Sizes, Sequence[int]], Awaitable[list[Result]]]

# Benchmark numbers each runner answers; one runner may serve several that share a setup.
RUNNERS: tuple[tuple[frozenset[int], Runner], ...] = (
    (frozenset({1, 2}), warm.run),
    (frozenset({3}), cold.run),
    (frozenset({4}), economy.run),
    (frozenset({5}), render.run),
    (frozenset({6}), scale.run),
    (frozenset({7}), crowd.run),
    (frozenset({8}), daily.run),
    (frozenset({9}), stack.run),
)
NUMBERS = frozenset(number for numbers, _ in RUNNERS for number in numbers)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    selected = sorted(args.only)
    print(machine())
    print(
        f"servers: the app through `{AIRDATE.name} serve` (its production settings), baselines and "
        f"sandbox on uvicorn {' '.join(UVICORN_FLAGS)} ({auto_stack()}); one process each, "
        "SQLite in a temp dir"
    )
    print("load generator: this process, raw HTTP/1.1 keep-alive connections on 127.0.0.1")
    print(f"load average at start: {_load()} (other work on the machine slows both sides of a ratio)")
    if args.profile is not None:
        py_spy()  # fail before minutes of benchmarking, not after
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        results, failures = asyncio.run(_run(selected, QUICK if args.quick else FULL, args.profile))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted; servers stopped, temp files removed", file=sys.stderr)
        return 130
    print(f"\nload average at end: {_load()}")
    print(table(results))
    if failures:
        print(f"\n{failures} benchmark group(s) failed to run; see the tracebacks above")
    return 1 if failures else 0


async def _run(selected: Sequence[int], sizes: Sizes, profile: Path | None) -> tuple[list[Result], int]:
    # SIGTERM (CI timeouts, `timeout`, kill) cancels the run like Ctrl-C does, so the servers are
    # stopped and the temp dir removed on the way out instead of being left behind.
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    results: list[Result] = []
    failures = 0
    async with open_lab(profile) as lab:
        for numbers, runner in RUNNERS:
            wanted = [number for number in selected if number in numbers]
            if not wanted:
                continue
            print(f"\nbenchmark {', '.join(map(str, wanted))}")
            started = time.perf_counter()
            try:
                results.extend(await runner(lab, sizes, wanted))
            except Exception:
                traceback.print_exc()
                failures += 1
            print(f"  ({time.perf_counter() - started:.1f} s)")
    return results, failures


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1, 5, 15 min)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test's run)")
    parser.add_argument(
        "--only",
        type=_numbers,
        default=NUMBERS,
        help=f"comma-separated benchmark numbers out of {','.join(map(str, sorted(NUMBERS)))}",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="write py-spy flame graphs of the app under the throughput load (benchmarks 1, 2) to DIR",
    )
    return parser


def _numbers(raw: str) -> frozenset[int]:
    try:
        numbers = frozenset(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a list of numbers") from None
    unknown = numbers - NUMBERS
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(NUMBERS)}"
        )
    return numbers


if __name__ == "__main__":
    raise SystemExit(main())
