"""Running `airdate` with a controlled environment: in this process, or as the installed console script.

Why both: most verbs are tested for what they print and do, which click's runner shows in-process in
milliseconds with the same environment, working directory (`.env`), database and sandbox over HTTP.
The installed script in a real process stays for what only a process shows: serving until a signal,
the exit status of the real entry point, a start-up line on a bare stderr, another process's view.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import airdate
from app.core.config import Settings

AIRDATE = Path(sys.executable).with_name("airdate")
# The process environment minus anything of ours, so a developer's AIRDATE_* cannot steer a test.
BASE_ENV = {key: value for key, value in os.environ.items() if not key.startswith("AIRDATE_")}


def run_airdate(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert AIRDATE.is_file(), f"{AIRDATE} is missing: install the project with `pip install -e .`"
    return subprocess.run(
        [str(AIRDATE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def invoke_airdate(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`airdate ARGS` in this process, as `run_airdate` would run it: exit status, stdout, stderr."""
    result = _invoke(args, env, cwd)
    return subprocess.CompletedProcess(["airdate", *args], result.exit_code, result.stdout, result.stderr)


def invoke_airdate_raw(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """The same with stdout as bytes: iCalendar lines end in CRLF, which text would hide."""
    result = _invoke(args, env, cwd)
    return subprocess.CompletedProcess(
        ["airdate", *args], result.exit_code, result.stdout_bytes, result.stderr_bytes
    )


def _invoke(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> Result:
    """Exactly `env` for AIRDATE_* (the test's own are unset) and `cwd` as the working directory."""
    unset: dict[str, str | None] = {key: None for key in os.environ if key.startswith("AIRDATE_")}
    with contextlib.chdir(cwd):
        return CliRunner().invoke(
            airdate, list(args), env={**unset, **env}, prog_name="airdate", catch_exceptions=False
        )


def env_for(settings: Settings) -> dict[str, str]:
    """The AIRDATE_* variables that give the command exactly these settings."""
    return {
        **BASE_ENV,
        "AIRDATE_DATABASE_URL": settings.database_url,
        "AIRDATE_SECRET_KEYS": ",".join(settings.secret_keys),
        "AIRDATE_PUBLIC_URL": settings.public_url,
        "AIRDATE_TRAKT_CLIENT_ID": settings.trakt_client_id or "",
        "AIRDATE_TRAKT_CLIENT_SECRET": settings.trakt_client_secret or "",
        "AIRDATE_TMDB_TOKEN": settings.tmdb_token or "",
        "AIRDATE_TRAKT_API_URL": settings.trakt_api_url,
        "AIRDATE_TRAKT_AUTH_URL": settings.trakt_auth_url,
        "AIRDATE_TMDB_API_URL": settings.tmdb_api_url,
    }


@dataclass
class Running:
    """A long-running verb's output: `head` up to the line waited for, `output` all of it once stopped."""

    head: str
    output: str = ""

    @property
    def url(self) -> str:
        """Where `airdate serve` said it listens (the real port, also for `--port 0`)."""
        found = re.search(r"Airdate serving on (http://\S+)", self.head)
        assert found is not None, self.head
        return found[1]


@contextmanager
def running(args: list[str], env: dict[str, str], cwd: Path, until: str) -> Iterator[Running]:
    """A long-running verb, yielded once a line of its output (stdout and stderr) contains `until`.

    On leaving, the process gets SIGTERM and must exit 0 without a traceback, as under a supervisor;
    `output` then holds everything it printed.
    """
    process = subprocess.Popen(
        [str(AIRDATE), *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        transcript = ""
        for line in process.stdout:
            transcript += line
            if until in line:
                break
        else:
            pytest.fail(f"{args[0]} exited with {process.wait()}:\n{transcript}", pytrace=False)
        run = Running(transcript)
        yield run
        process.send_signal(signal.SIGTERM)
        run.output = transcript + process.stdout.read()
        assert process.wait(timeout=30) == 0, run.output
        assert "Traceback" not in run.output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
