"""`python -m bench --quick` runs end to end: every benchmark prints its rows, each with a sound
ratio and a verdict on its target.

Why only this: speed targets belong to the benchmark's own MET/MISSED verdicts, measured against
same-run baselines; a test suite that asserted timings would fail on a busy CI machine, not on a
slow product. What the suite can guarantee is that the benchmarks still run and report, and that
what they report is well formed: a number where a figure belongs, never a NaN, an infinity, a
negative ratio or a zero from a side that did no work.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise, takewhile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    1: "warm feed throughput",
    2: "revalidation (304)",
    3: "cold feed",
    4: "upstream economy",
    5: "rendering",
    6: "scale",
    7: "crowd",
    8: "Trakt calls per active user",
    9: "server stack",
}
HEADER = ("benchmark", "measured", "baseline", "ratio", "target", "result")
NO_TARGET = "(no target)"
NAME = re.compile(r"(?P<number>[1-9])\. \S.*")
RATIO = re.compile(r"-?\d+\.\d{3}")  # a sign is allowed here so that a negative ratio fails below
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")
NOT_A_NUMBER = re.compile(r"\b(?:nan|inf|infinity)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Row:
    number: int
    name: str
    measured: str
    baseline: str
    ratio: float
    target: str
    result: str


def table_rows(stdout: str) -> list[Row]:
    """The final table, cut at the columns its dashed rule marks: every row, none skipped."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.split() == list(HEADER)]
    assert len(starts) == 1, f"one table header expected in:\n{stdout}"
    rule = lines[starts[0] + 1]
    assert set(rule) <= {"-", " "}, rule
    spans = [match.span() for match in re.finditer(r"-+", rule)]
    assert len(spans) == len(HEADER), rule
    cuts = [start for start, _ in spans] + [None]
    rows = []
    for line in takewhile(str.strip, lines[starts[0] + 2 :]):
        cells = [line[a:b].strip() for a, b in pairwise(cuts)]
        rows.append(parse_row(line, cells))
    return rows


def parse_row(line: str, cells: list[str]) -> Row:
    name, measured, baseline, ratio, target, result = cells
    named = NAME.fullmatch(name)
    assert named, f"row without a numbered benchmark name: {line!r}"
    for figure in (measured, baseline):
        assert FIGURE.search(figure), f"a figure without a number: {line!r}"
        assert not NOT_A_NUMBER.search(figure), f"a figure that is not a number: {line!r}"
    assert RATIO.fullmatch(ratio), f"ratio not printed as a number with 3 decimals: {line!r}"
    assert math.isfinite(float(ratio)) and float(ratio) >= 0, line
    assert target, f"row without a target: {line!r}"
    expected = {"INFO"} if target == NO_TARGET else {"MET", "MISSED"}
    assert result in expected, f"verdict {result!r} for target {target!r}: {line!r}"
    return Row(int(named["number"]), name, measured, baseline, float(ratio), target, result)


def test_quick_run_prints_every_benchmark_with_a_ratio() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,  # a bound on a hung run, not a speed check: a busy machine takes minutes
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stdout.startswith("machine: ")
    rows = table_rows(finished.stdout)
    assert {row.number for row in rows} == set(BENCHMARKS), finished.stdout
    for number, name in BENCHMARKS.items():
        matching = [row for row in rows if row.number == number and row.name[3:].startswith(name)]
        assert matching, f"no table row for benchmark {number} ({name}) in:\n{finished.stdout}"
        assert any(row.result in ("MET", "MISSED") for row in matching), f"benchmark {number}: no verdict"
    # Counted, not timed, so exact on any machine: no upstream call per warm poll, one per cold chunk.
    economy = {row.name: row for row in rows if row.number == 4}
    assert economy["4. upstream economy, warm polls"].ratio == 0
    assert economy["4. upstream economy, cold burst"].ratio == 1
    assert all(row.result == "MET" for row in economy.values())
    # Timed ratios vary with the machine, but a zero means a side did no work at all.
    timed = [row for row in rows if row.number != 4]
    assert all(row.ratio > 0 for row in timed), [row for row in timed if row.ratio <= 0]
