"""Results and the printed table.

Why every row carries its own baseline: a figure alone says nothing across machines, so each
benchmark states what it was compared with in the same run, the ratio, and the target it is held to.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("benchmark", "measured", "baseline", "ratio", "target", "result")


@dataclass(frozen=True, slots=True)
class Result:
    """One table row. `met` is None for rows printed for honesty only (no target applies)."""

    name: str
    measured: str
    baseline: str
    ratio: float
    target: str
    met: bool | None

    def cells(self) -> tuple[str, ...]:
        verdict = "INFO" if self.met is None else "MET" if self.met else "MISSED"
        return (self.name, self.measured, self.baseline, f"{self.ratio:.3f}", self.target, verdict)


def table(results: Sequence[Result]) -> str:
    """A plain fixed-width table: greppable, and readable in a CI log without a renderer."""
    rows = [COLUMNS, *(result.cells() for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def machine() -> str:
    """What the figures came from: they only compare with figures from the same line."""
    cores = len(os.sched_getaffinity(0))
    return f"machine: {cpu_model()}, {cores} cores usable, Python {platform.python_version()}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown CPU"


def rate(count: float, seconds: float, unit: str) -> str:
    return f"{count / seconds:,.0f} {unit}/s"


def millis(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
