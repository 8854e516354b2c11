"""Figures a suite measures (polls answered, items dropped, latency), printed at the end of the run.

Why not `print`: pytest swallows output of passing tests unless run with `-s`, and the suites'
figures are quoted in the docs, so they must appear in every run, CI's included. Suites add to a
session-wide tally; `tests.fixtures.figures` prints it in the terminal summary.
"""

from __future__ import annotations

from collections import defaultdict


class Figures:
    """Per suite, named figures: counts are summed, maxima kept, in the order first reported."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, float]] = defaultdict(dict)
        self._units: dict[tuple[str, str], str] = {}

    def add(self, suite: str, name: str, amount: float = 1) -> None:
        values = self._values[suite]
        values[name] = values.get(name, 0) + amount

    def highest(self, suite: str, name: str, value: float, unit: str = "") -> None:
        values = self._values[suite]
        values[name] = max(values.get(name, value), value)
        self._units[suite, name] = unit

    def lines(self) -> list[str]:
        out: list[str] = []
        for suite, values in self._values.items():
            out.append(f"{suite}:")
            for name, value in values.items():
                shown = f"{value:.3f}" if value != int(value) else str(int(value))
                out.append(f"  {name}: {shown}{self._units.get((suite, name), '')}")
        return out
