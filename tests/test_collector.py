"""The serving process's collector settings (app.cli.collector), checked in a fresh interpreter so
this test process keeps its own. What they buy is measured by benchmark 7 (docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from app.cli.collector import settle_for_serving
before = gc.get_threshold()
settle_for_serving()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_serving_freezes_what_start_up_built_and_collects_young_objects_less_often() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout)
    assert seen["after"] == [10_000, seen["before"][1], seen["before"][2]]
    assert seen["before"][0] < 10_000
    assert seen["frozen"] > 1_000  # the imported modules' objects, out of every later collection
