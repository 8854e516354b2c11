"""requirements.lock pins every runtime dependency of pyproject.toml, each with sha256 hashes.

The image installs the lock, not pyproject's ranges; a dependency added to pyproject but not locked
would be missing from the image. `make lock` refreshes the file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    text = (ROOT / "requirements.lock").read_text()
    pins: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            pins[canonicalize_name(match[1])] = (Version(match[2]), block.count("--hash=sha256:"))
    return pins


def test_every_runtime_dependency_is_pinned_with_hashes_inside_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    locked = _locked()
    for spec in project["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.lock: run `make lock`"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version), f"{name}=={version} is outside {spec!r}"
        assert hashes >= 1, f"{name} has no --hash=sha256: line"


def test_the_build_backend_is_locked_too() -> None:
    """The image builds the wheel offline with the locked setuptools; it must satisfy build-system."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (backend,) = [Requirement(spec) for spec in project["build-system"]["requires"]]
    version, hashes = _locked()[canonicalize_name(backend.name)]
    assert backend.specifier.contains(version) and hashes >= 1
