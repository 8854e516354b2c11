"""The tree is the architecture: each package of `app/` imports only the packages below it.

Read from the source with `ast`, so a late import inside a function counts as much as one at the
top. `docs/architecture.md` draws the same order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# Bottom first. A package may import itself and anything earlier in this list, nothing later.
LAYERS = ("core", "domain", "store", "upstream", "feeds", "workers", "services", "web", "cli")
# Stand-alone: a stand-in Trakt and TMDB written from the API reference alone. Only the CLI's demo
# starts it. (`app/migrations` is the top-level `migrations/` folder, symlinked; not a layer.)
ISOLATED = {"sandbox": set[str]()}
TOP_MAY_ALSO_IMPORT = {"cli": {"sandbox"}}


def _imports(path: Path) -> set[str]:
    """Top-level packages of `app` that one module imports (`app` itself carries only the version)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "app" else [f"app.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name.split(".")[1] for name in names if name.startswith("app.") and name.count(".") >= 1)
    return found - {"__version__"}


def _package_of(path: Path) -> str:
    return path.relative_to(APP).parts[0]


MODULES = sorted(
    p for p in APP.rglob("*.py") if len(p.relative_to(APP).parts) > 1 and _package_of(p) != "migrations"
)


def test_every_module_lives_in_a_known_package() -> None:
    assert {_package_of(p) for p in MODULES} == set(LAYERS) | set(ISOLATED)
    assert sorted(p.name for p in APP.glob("*.py")) == ["__init__.py"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP)))
def test_imports_point_only_downwards(path: Path) -> None:
    package = _package_of(path)
    allowed = ISOLATED[package] if package in ISOLATED else set(LAYERS[: LAYERS.index(package) + 1])
    allowed |= TOP_MAY_ALSO_IMPORT.get(package, set())
    assert _imports(path) - allowed - {package} == set(), f"{package} may import only {sorted(allowed)}"
