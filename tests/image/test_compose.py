"""deploy/compose.yaml brought up for real on the image; deploy/compose.postgres.yaml validated.

With docker-compose 1.29 (Debian's), the older of the two tools the files must work with. Each file
is used from a copy of deploy/ holding a `.env`, as a person would after `cp .env.example .env`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.app import free_port
from tests.image.docker import ROOT, check, docker, http_ok, inspect, run, wait_for

PROJECT = "airdate-image-compose"


def _deploy_copy(tmp_path: Path, env: str) -> Path:
    folder = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", folder)
    (folder / ".env").write_text(env)
    return folder


def _compose(folder: Path, file: str, *args: str, timeout: float = 180) -> str:
    return run("docker-compose", "--project-directory", str(folder), "-p", PROJECT,
               "-f", str(folder / file), *args, timeout=timeout).stdout


@pytest.fixture
def single(image: str, env_file: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    port = free_port()
    lines = [line for line in env_file.read_text().splitlines()
             if not line.startswith("AIRDATE_PUBLIC_URL=")]
    env = "\n".join([*lines, f"AIRDATE_PUBLIC_URL=http://127.0.0.1:{port}", f"AIRDATE_IMAGE={image}",
                     "AIRDATE_BIND=127.0.0.1", f"AIRDATE_PORT={port}", ""])
    folder = _deploy_copy(tmp_path, env)
    _compose(folder, "compose.yaml", "down", "-v")
    try:
        _compose(folder, "compose.yaml", "up", "-d")
        yield folder, f"http://127.0.0.1:{port}"
    finally:
        _compose(folder, "compose.yaml", "down", "-v")


def test_the_single_machine_compose_file_comes_up_healthy(single: tuple[Path, str]) -> None:
    folder, base_url = single
    wait_for("compose service answering /healthz", lambda: http_ok(f"{base_url}/healthz"), timeout=60)
    assert httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    name = _compose(folder, "compose.yaml", "ps", "-q", "airdate").strip()
    assert inspect(name, "{{.HostConfig.RestartPolicy.Name}}") == "unless-stopped"
    mounts = inspect(name, "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}")
    assert mounts == f"volume {PROJECT}_airdate-data /app/data", mounts
    wait_for("compose service healthy", lambda: (
        inspect(name, "{{.State.Health.Status}}") == "healthy" or None), timeout=90)
    check("deploy/compose.yaml: up, healthy, restart unless-stopped, data on a named volume")


def test_the_postgres_compose_file_is_valid(engine: None, tmp_path: Path) -> None:
    folder = _deploy_copy(tmp_path, (ROOT / "deploy" / ".env.example").read_text())
    config = _compose(folder, "compose.postgres.yaml", "config")
    for service in ("db:", "airdate-1:", "airdate-2:", "caddy:"):
        assert f"  {service}" in config
    assert "postgresql+asyncpg://airdate:" in config
    docker("version")  # the engine the validation ran beside still answers
    check("deploy/compose.postgres.yaml validates with docker-compose 1.29 and .env.example")
