"""`make test` does its own set-up: the system-package check it runs first, as a real process.

The check runs on every `make test`, so it must be quick when everything is present; without the
right to install, it must stop at once with one line naming the command to run (not let dozens of
tests fail one by one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENSURE = ROOT / "scripts" / "ensure-system-deps.sh"


def test_check_is_quick_and_silent_when_everything_is_present() -> None:
    started = time.monotonic()
    result = subprocess.run(["bash", str(ENSURE)], capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert elapsed < 1.0, f"the check took {elapsed:.2f} s; it runs on every make test"


@pytest.fixture
def bare_bin() -> Iterator[Path]:
    """A PATH holding only bash and dirname (every system package looks missing), readable by nobody.

    Not under pytest's tmp_path: its parents are private to root, and the script runs as nobody.
    """
    bin_dir = Path(tempfile.mkdtemp(prefix="airdate-bare-path-"))
    bin_dir.chmod(0o755)
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    yield bin_dir
    shutil.rmtree(bin_dir)


def test_without_the_right_to_install_it_stops_at_once_naming_the_command(bare_bin: Path) -> None:
    """As an unprivileged user with no sudo on PATH, one line on stderr and exit 1, in well under a second."""
    drop: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) drops root to nobody for this test"
        drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    started = time.monotonic()
    result = subprocess.run(
        [*drop, str(bare_bin / "bash"), str(ENSURE)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": str(bare_bin)},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "sudo make system-deps" in lines[0]
    for tool in ("calcurse", "chromium", "node"):
        assert tool in lines[0]
    assert result.stdout == ""
    assert elapsed < 1.0
