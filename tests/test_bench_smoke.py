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
    7: "crowd",
    8: "Trakt calls per active user",
    9: "server stack",
}
# A table row: "3. cold feed, ...  <measured>  <baseline>  0.297  < 450.0 ms  MISSED"
ROW = re.compile(
    r"^(?P<number>[1-9])\. (?P<name>.+?)  .*?  (?P<ratio>\d+\.\d{3})  .+  (?P<verdict>MET|MISSED|INFO)$"
)


def test_quick_run_prints_every_benchmark_with_a_ratio() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,  # a bound on a hung run, not a speed check: a busy machine takes minutes
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    rows = [match for line in finished.stdout.splitlines() if (match := ROW.match(line))]
    for number, name in BENCHMARKS.items():
        matching = [row for row in rows if int(row["number"]) == number and row["name"].startswith(name)]
        assert matching, f"no table row for benchmark {number} ({name}) in:\n{finished.stdout}"
        # Timed ratios vary with the machine, but a zero means a side did no work at all.
        assert all(float(row["ratio"]) > 0 or row["verdict"] == "MET" for row in matching)
    # Counted, not timed, so exact on any machine: no upstream call per warm poll, one per cold chunk.
    economy = {row["name"]: row for row in rows if row["number"] == "4"}
    assert economy["upstream economy, warm polls"]["ratio"] == "0.000"
    assert economy["upstream economy, cold burst"]["ratio"] == "1.000"
    assert all(row["verdict"] == "MET" for row in economy.values())
    assert finished.stdout.startswith("machine: ")
