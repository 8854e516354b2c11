"""deploy/compose.yaml brought up for real on the image; deploy/compose.postgres.yaml validated.

With docker-compose 1.29 (Debian's), the older of the two tools the files must work with. Each file
is used from a copy of deploy/ holding a `.env`, as a person would after `cp .env.example .env`.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from functools import partial
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
    return run(
        "docker-compose",
        "--project-directory",
        str(folder),
        "-p",
        PROJECT,
        "-f",
        str(folder / file),
        *args,
        timeout=timeout,
    ).stdout


@pytest.fixture
def single(image: str, env_file: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    port = free_port()
    lines = [line for line in env_file.read_text().splitlines() if not line.startswith("AIRDATE_PUBLIC_URL=")]
    env = "\n".join(
        [
            *lines,
            f"AIRDATE_PUBLIC_URL=http://127.0.0.1:{port}",
            f"AIRDATE_IMAGE={image}",
            "AIRDATE_BIND=127.0.0.1",
            f"AIRDATE_PORT={port}",
            "",
        ]
    )
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
    wait_for(
        "compose service healthy",
        lambda: inspect(name, "{{.State.Health.Status}}") == "healthy" or None,
        timeout=90,
    )
    check("deploy/compose.yaml: up, healthy, restart unless-stopped, data on a named volume")


def _standin(kind: str, variable: str) -> str:
    """The image for `kind`: AIRDATE_IMAGE_<KIND> where a registry is reachable, else a Debian stand-in."""
    return (
        os.environ.get(variable)
        or run("bash", "scripts/standin-image.sh", kind, timeout=900).stdout.strip().splitlines()[-1]
    )


@pytest.fixture
def postgres_stack(image: str, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """compose.postgres.yaml with its .env made from .env.example as a person would; yields Caddy's URL."""
    postgres = _standin("postgres", "AIRDATE_IMAGE_POSTGRES")
    caddy = _standin("caddy", "AIRDATE_IMAGE_CADDY")
    check(f"stand-ins {postgres} and {caddy}")
    key = docker("run", "--rm", image, "airdate", "keygen").stdout.strip()
    https_port, http_port = free_port(), free_port()
    replacements = {
        "AIRDATE_SECRET_KEYS": key,
        "AIRDATE_TRAKT_CLIENT_ID": "sandbox-client-id",
        "AIRDATE_DOMAIN": "localhost",  # Caddy serves it with a certificate from its own local CA
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "AIRDATE_HTTP_PORT": str(http_port),
        "AIRDATE_HTTPS_PORT": str(https_port),
    }
    lines = []
    for line in (ROOT / "deploy" / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={replacements.pop(name)}" if name in replacements else line)
    assert not replacements, f"not in .env.example: {sorted(replacements)}"
    lines += [f"AIRDATE_IMAGE={image}", f"POSTGRES_IMAGE={postgres}", f"CADDY_IMAGE={caddy}", ""]
    folder = _deploy_copy(tmp_path, "\n".join(lines))
    _compose(folder, "compose.postgres.yaml", "down", "-v")
    try:
        _compose(folder, "compose.postgres.yaml", "up", "-d", timeout=300)
        yield folder, f"https://localhost:{https_port}"
    finally:
        _compose(folder, "compose.postgres.yaml", "down", "-v", timeout=300)


def _https_ok(url: str) -> httpx.Response | None:
    try:
        response = httpx.get(url, timeout=5, verify=False)
    except httpx.TransportError:
        return None
    return response if response.status_code == 200 else None


def _healthy(container: str) -> bool | None:
    """A probe for `wait_for`: True once Docker's health check passes."""
    return inspect(container, "{{.State.Health.Status}}") == "healthy" or None


def test_two_instances_on_postgres_come_up_behind_caddy_with_https(postgres_stack: tuple[Path, str]) -> None:
    folder, url = postgres_stack
    ready = wait_for(
        "https://localhost/readyz through Caddy", lambda: _https_ok(f"{url}/readyz"), timeout=180
    )
    assert ready.url.scheme == "https" and ready.text.strip() == "ready"
    for service in ("airdate-1", "airdate-2"):
        name = _compose(folder, "compose.postgres.yaml", "ps", "-q", service).strip()
        wait_for(
            f"{service} healthy",
            partial(_healthy, name),
            timeout=120,
        )
        restarts = inspect(name, "{{.RestartCount}}")
        check(f"compose.postgres.yaml: {service} healthy on PostgreSQL (restarts: {restarts})")
    metrics = httpx.get(f"{url}/metrics", timeout=5, verify=False)
    assert metrics.status_code == 404, "Caddy must not serve /metrics to the internet"
    check("Caddy answers https and keeps /metrics private (404)")


def test_the_postgres_compose_file_is_valid(engine: None, tmp_path: Path) -> None:
    folder = _deploy_copy(tmp_path, (ROOT / "deploy" / ".env.example").read_text())
    config = _compose(folder, "compose.postgres.yaml", "config")
    for service in ("db:", "airdate-1:", "airdate-2:", "caddy:"):
        assert f"  {service}" in config
    assert "postgresql+asyncpg://airdate:" in config
    docker("version")  # the engine the validation ran beside still answers
    check("deploy/compose.postgres.yaml validates with docker-compose 1.29 and .env.example")
