"""A normal install works: the wheel carries templates, static files and migrations.

Built from this checkout and installed (not editable) into a directory of its own, then run the way an
operator does: `airdate migrate` on a fresh SQLite file and `airdate serve`, fetching a page that
renders a template and a static file. Offline: the wheel is built without build isolation and
installed without dependencies; the dependencies come from the test's own virtualenv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.store.secrets import generate_key
from tests.fixtures.app import free_port
from tests.support.cli import BASE_ENV

ROOT = Path(__file__).resolve().parent.parent
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--quiet"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a fresh copy of the project's files: an in-tree build reuses a stale `build/`."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("app", "migrations"):
        shutil.copytree(
            ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("airdate-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed into a target directory; its `bin/airdate` runs this interpreter."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [*PIP, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def _source_files(top: str) -> set[str]:
    """Every file the service needs at run time under `top` in the checkout (no caches)."""
    base = ROOT / top
    return {
        path.relative_to(base).as_posix()
        for path in base.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_carries_every_file_of_app_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for relative in _source_files("app"):
        assert f"app/{relative}" in names, f"app/{relative} is left out of the wheel"
    for relative in _source_files("migrations"):
        assert f"app/migrations/{relative}" in names, f"migrations/{relative} is left out of the wheel"
    assert not any(name.startswith(("migrations/", "tests/")) for name in names)


@pytest.fixture
def env(installed: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **BASE_ENV,
        # The installed copy first: it must win over the checkout's editable install.
        "PYTHONPATH": str(installed),
        "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'airdate.db'}",
        "AIRDATE_SECRET_KEYS": generate_key(),
        "AIRDATE_TRAKT_CLIENT_ID": "installed-wheel-test",
    }


def _airdate(installed: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed / "bin" / "airdate"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_installed_copy_is_the_one_that_runs(
    installed: Path, env: dict[str, str], tmp_path: Path
) -> None:
    found = subprocess.run(
        [sys.executable, "-c", "import app; print(app.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(installed)


def test_migrate_works_from_the_installed_wheel(installed: Path, env: dict[str, str], tmp_path: Path) -> None:
    result = _airdate(installed, "migrate", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "newest schema" in result.stderr
    assert (tmp_path / "data" / "airdate.db").stat().st_size > 0


@pytest.fixture
def served(installed: Path, env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    assert _airdate(installed, "migrate", env=env, cwd=tmp_path).returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [str(installed / "bin" / "airdate"), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "airdate serve did not answer within 30 s"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_installed_service_renders_templates_and_static_files(served: str) -> None:
    landing = httpx.get(f"{served}/", timeout=10)
    assert landing.status_code == 200
    assert "<html" in landing.text.lower() and "/static/airdate.css" in landing.text
    css = httpx.get(f"{served}/static/airdate.css", timeout=10)
    assert css.status_code == 200
    assert css.content == (ROOT / "app" / "web" / "static" / "airdate.css").read_bytes()


def test_the_wheel_version_is_the_one_feeds_announce(wheel: Path) -> None:
    """pyproject's version and `app.__version__` (in every feed's PRODID) are bumped together."""
    from app import __version__

    assert wheel.name == f"airdate-{__version__}-py3-none-any.whl"
