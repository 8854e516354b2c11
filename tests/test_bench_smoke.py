"""`python -m bench --quick` runs end to end: every benchmark prints its row with a numeric ratio.

Why only this: speed targets belong to the benchmark's own MET/MISSED verdicts, measured against
same-run baselines; a test suite that asserted timings would fail on a busy CI machine, not on a
slow product. What the suite can guarantee is that the benchmarks still run and report.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    1: "warm feed throughput",
    2: "revalidation (304)",
    3: "cold feed",
    4: "upstream economy",
    5: "rendering",
    6: "scale",
}
# A table row: "3. cold feed, ...  <measured>  <baseline>  0.297  < 450.0 ms  MISSED"
ROW = re.compile(
    r"^(?P<number>[1-6])\. (?P<name>.+?)  .*?  (?P<ratio>\d+\.\d{3})  .+  (?P<verdict>MET|MISSED|INFO)$"
)


def test_quick_run_prints_every_benchmark_with_a_ratio() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    rows = [match for line in finished.stdout.splitlines() if (match := ROW.match(line))]
    for number, name in BENCHMARKS.items():
        matching = [row for row in rows if int(row["number"]) == number and row["name"].startswith(name)]
        assert matching, f"no table row for benchmark {number} ({name}) in:\n{finished.stdout}"
        assert all(float(row["ratio"]) >= 0 for row in matching)
    assert finished.stdout.startswith("machine: ")
