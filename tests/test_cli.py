"""The `airdate` command as operators run it, with a controlled environment in an empty working directory.

Most tests run the command in this process (click's runner: the same environment, `.env`, database and
sandbox over HTTP, in milliseconds), on SQLite alone where the verb's SQL is not the subject; the verbs
whose SQL is (migrate, rekey, doctor's checks) run on both backends. The installed console script in a
real process stays where the process is the point: serving until a signal, the exit statuses of the
real entry point, a start-up error on a bare stderr, a command run as another uid, and proof that
`airdate --help` imports neither SQLAlchemy nor Starlette. The sandbox's clock is set to the real time,
because the command runs on the real clock and both must agree on "today" and on token expiry.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import icalendar
import pytest
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet

from app.core.config import Settings
from app.services.container import Services, open_services
from app.store.maintenance import user_slugs
from app.store.migrate import alembic_config, current_revision
from app.store.secrets import generate_key
from app.web.app import create_app
from tests.fixtures.app import free_port
from tests.fixtures.sandbox import RunningSandbox
from tests.support.cli import (
    AIRDATE,
    BASE_ENV,
    env_for,
    invoke_airdate,
    invoke_airdate_raw,
    run_airdate,
    running,
)
from tests.support.server import serve
from tests.support.settings import sandbox_settings

T = TypeVar("T")

VERBS = [
    "demo",
    "serve",
    "migrate",
    "connect",
    "feeds",
    "users",
    "export",
    "keygen",
    "rekey",
    "doctor",
    "sandbox",
]
FEED_ACTIONS = ["list", "create", "update", "rotate", "revoke"]


def assert_one_error_line(result: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Exit 1, no traceback, and exactly one `airdate:` line on stderr that names `mentions`."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("airdate: ")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip("\n").splitlines()[-1] == errors[0]
    for mention in mentions:
        assert mention in errors[0], errors[0]
    return errors[0]


@dataclass
class Cli:
    settings: Settings
    cwd: Path

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return invoke_airdate(*args, env={**env_for(self.settings), **env}, cwd=self.cwd)

    def ok(self, *args: str, **env: str) -> str:
        result = self(*args, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def raw(self, *args: str) -> bytes:
        """Stdout as bytes: iCalendar lines end in CRLF, which text mode would rewrite."""
        result = invoke_airdate_raw(*args, env=env_for(self.settings), cwd=self.cwd)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def connect(self, *args: str) -> dict[str, str]:
        found: dict[str, str] = json.loads(self.ok("connect", "--json", *args))
        return found

    def feeds(self, *args: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = json.loads(self.ok("feeds", "list", "--json", *args))
        return listed

    def services(self, work: Callable[[Services], Awaitable[T]]) -> T:
        async def go() -> T:
            async with open_services(self.settings) as services:
                return await work(services)

        return asyncio.run(go())


def make_cli(database_url: str, sandbox: RunningSandbox, cwd: Path) -> Cli:
    sandbox.clock.set(datetime.now(UTC))
    sandbox.state.configure({"device_interval": 0})
    settings = sandbox_settings(database_url, sandbox.url, f"http://127.0.0.1:{free_port()}")
    return Cli(settings=settings, cwd=cwd)


@pytest.fixture
def cli(sqlite_database_url: str, sandbox: RunningSandbox, tmp_path: Path) -> Cli:
    """The command on one database: for verbs whose subject is what they print and do."""
    return make_cli(sqlite_database_url, sandbox, tmp_path)


@pytest.fixture
def cli_each_backend(database_url: str, sandbox: RunningSandbox, tmp_path: Path) -> Cli:
    """The command on SQLite and on PostgreSQL: for verbs whose own SQL is the subject."""
    return make_cli(database_url, sandbox, tmp_path)


def token_of(feed_url: str) -> str:
    return feed_url.rsplit("/", 1)[1].removesuffix(".ics")


def test_help_lists_every_verb_and_every_verb_has_help(tmp_path: Path) -> None:
    overview = invoke_airdate("--help", env=BASE_ENV, cwd=tmp_path)
    assert overview.returncode == 0
    for verb in VERBS:
        assert f"    {verb} " in overview.stdout, overview.stdout
    actions = [["feeds", action] for action in FEED_ACTIONS] + [["users", "delete"]]
    for command in [[verb] for verb in VERBS] + actions:
        result = invoke_airdate(*command, "--help", env=BASE_ENV, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith(f"usage: airdate {' '.join(command)}"), result.stdout


def test_usage_errors_exit_2_like_argparse(tmp_path: Path) -> None:
    usage_errors = [
        [],
        ["feeds"],
        ["nonsense"],
        ["export"],
        ["feeds", "rotate", "x"],
        ["feeds", "revoke", "99999999999999999999"],  # past the id columns' range: no row has it
        ["feeds", "update", "0", "--name", "x"],
        ["export", "--feed", "3000000000"],
        ["feeds", "create", "--set", "no-equals-sign"],
        ["serve", "--workers", "0"],
    ]
    for command in usage_errors:
        result = invoke_airdate(*command, env=BASE_ENV, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr


def test_the_installed_script_and_python_m_exit_as_the_shell_expects(tmp_path: Path) -> None:
    """The real entry points in a real process: the statuses a shell or a supervisor sees.

    An expected failure's status 1 is the `serve` case of the configuration test below.
    """
    assert run_airdate("nonsense", env=BASE_ENV, cwd=tmp_path).returncode == 2
    assert run_airdate("--help", env=BASE_ENV, cwd=tmp_path).returncode == 0
    module = subprocess.run(
        [sys.executable, "-m", "app.cli", "keygen"],
        env=BASE_ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert module.returncode == 0, module.stderr
    Fernet(module.stdout.strip().encode())


def test_help_imports_neither_the_database_layer_nor_the_web_framework(tmp_path: Path) -> None:
    """`airdate --help` must answer at once: the verbs, and what they import, load only when run."""
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "assert main(['--help']) == 0\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "heavy = sorted(loaded & {'sqlalchemy', 'starlette', 'uvicorn'})\n"
        "print('imported:', heavy, file=sys.stderr)\n"
        "raise SystemExit(1 if heavy else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=BASE_ENV, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "    feeds " in result.stdout


def test_keygen_prints_a_fresh_valid_key(tmp_path: Path) -> None:
    keys = [invoke_airdate("keygen", env=BASE_ENV, cwd=tmp_path).stdout for _ in range(2)]
    for key in keys:
        assert key.endswith("\n") and key.count("\n") == 1
        fernet = Fernet(key.strip().encode())
        assert fernet.decrypt(fernet.encrypt(b"x")) == b"x"
    assert keys[0] != keys[1]


def test_migrate_brings_an_empty_database_to_the_newest_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'empty.db'}"
    env = {**BASE_ENV, "AIRDATE_DATABASE_URL": url}  # no secret keys: migrate must not need them
    assert current_revision(url) is None
    for _ in range(2):  # the second run finds nothing to do
        result = invoke_airdate("migrate", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert current_revision(url) == alembic_script_head(url)


def alembic_script_head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def test_migrate_leaves_a_migrated_database_as_it_is(cli_each_backend: Cli) -> None:
    cli = cli_each_backend
    cli.ok("migrate")
    assert current_revision(cli.settings.database_url) == alembic_script_head(cli.settings.database_url)


def upstream_secrets(sandbox: RunningSandbox) -> list[str]:
    """Every token the sandbox handed out, to prove none of them reaches the terminal."""
    return [
        secret
        for token in sandbox.state.auth.tokens.values()
        for secret in (token.access_token, token.refresh_token)
    ]


def test_connect_creates_the_user_and_a_default_feed_and_prints_exactly_the_json(
    cli: Cli, sandbox: RunningSandbox
) -> None:
    result = cli("connect", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert result.stdout == json.dumps({"user": "demo", "feed_url": answer["feed_url"]}) + "\n"
    assert answer["feed_url"].startswith(f"{cli.settings.public_url}/feeds/")
    assert "/activate" in result.stderr  # the verification URL goes to stderr, not into the JSON
    secrets = upstream_secrets(sandbox)
    assert secrets and not any(secret in result.stdout + result.stderr for secret in secrets)
    token = token_of(answer["feed_url"])

    async def check(services: Services) -> None:
        [user_id] = await user_slugs(services.sessions)
        [feed] = await services.accounts.list_feeds(user_id)
        assert feed.token == token
        assert feed.options.sources == ("shows", "movies")
        assert (feed.options.past_days, feed.options.future_days) == (7, 60)
        assert await services.connections.status(user_id) == "ok"

    cli.services(check)


def test_a_second_connect_updates_the_user_instead_of_duplicating(cli: Cli) -> None:
    first = cli.connect()
    plain = cli.ok("connect", "--name", "Everything")  # without --json: just the URL on stdout
    assert plain == first["feed_url"] + "\n"
    [feed] = cli.feeds()
    assert feed["name"] == "Everything"
    assert feed["url"] == first["feed_url"]
    assert len(cli.services(lambda services: user_slugs(services.sessions))) == 1


def test_feeds_create_update_rotate_revoke(cli: Cli) -> None:
    first_url = cli.connect()["feed_url"]
    created = cli.ok(
        "feeds", "create", "--name", "Premieres", "--set", "sources=premieres", "--set", "past_days=14"
    )
    extra_url = created.strip().rsplit(" ", 1)[1]
    default, extra = cli.feeds()
    assert default["url"] == first_url
    assert extra["url"] == extra_url and extra["name"] == "Premieres"
    assert extra["options"]["sources"] == ["premieres"] and extra["options"]["past_days"] == 14
    assert extra["poll_count"] == 0 and extra["last_polled_at"] is None

    cli.ok("feeds", "update", str(extra["id"]), "--set", "all_day=true", "--set", "tz=Europe/Berlin")
    updated = cli.feeds()[1]
    assert updated["options"]["all_day"] is True and updated["options"]["tz"] == "Europe/Berlin"
    assert updated["options"]["past_days"] == 14  # untouched options stay
    text = cli.ok("feeds", "list")
    assert f"#{extra['id']}  Premieres  (user demo)" in text and "all_day=true" in text

    rotated_url = cli.ok("feeds", "rotate", str(extra["id"])).strip()
    assert rotated_url != extra_url and rotated_url.startswith(cli.settings.public_url)
    cli.ok("feeds", "revoke", str(default["id"]))
    assert [feed["url"] for feed in cli.feeds()] == [rotated_url]

    async def lookups(services: Services) -> list[bool]:
        return [
            await services.feeds.lookup(token_of(url)) is not None
            for url in (first_url, extra_url, rotated_url)
        ]

    assert cli.services(lookups) == [False, False, True]
    assert_one_error_line(cli("feeds", "rotate", str(default["id"])), f"#{default['id']}")
    assert_one_error_line(cli("feeds", "update", "999", "--name", "x"), "#999")


def test_bad_feed_options_are_one_line_naming_the_option(cli: Cli) -> None:
    cli.connect()
    assert_one_error_line(cli("feeds", "create", "--set", "past_days=400"), "past_days", "0 to 90")
    assert_one_error_line(cli("feeds", "create", "--set", "colour=red"), "colour", "allowed")
    assert_one_error_line(cli("feeds", "update", "1", "--set", "tz=Mars/Olympus"), "tz")
    twice = cli("feeds", "create", "--set", "sources=shows", "--set", "sources=movies")
    assert_one_error_line(twice, "sources", "more than once")
    assert_one_error_line(cli("feeds", "create", "--set", "all_day=yes"), "all_day", "true, false, 1, 0")
    assert len(cli.feeds()) == 1


def test_user_may_be_left_out_only_when_there_is_one(cli: Cli, sandbox: RunningSandbox) -> None:
    assert_one_error_line(cli("feeds", "list"), "no users yet", "airdate connect")
    cli.connect()
    sandbox.state.configure({"next_user": {"slug": "second", "username": "Second"}})
    assert cli.connect()["user"] == "second"
    assert_one_error_line(cli("feeds", "list"), "--user", "demo, second")
    assert [feed["user"] for feed in cli.feeds("--user", "second")] == ["second"]
    assert sorted(feed["user"] for feed in cli.feeds("--all")) == ["demo", "second"]
    assert_one_error_line(cli("feeds", "create", "--user", "nobody"), "'nobody'")


def test_export_writes_what_the_running_app_serves(cli: Cli) -> None:
    feed_url = cli.connect()["feed_url"]
    [feed] = cli.feeds()
    out = cli.cwd / "feed.ics"
    result = cli("export", "--feed", str(feed["id"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    exported = out.read_bytes()
    calendar = icalendar.Calendar.from_ical(exported)
    assert len(calendar.walk("VEVENT")) > 0
    assert cli.raw("export", "--feed", str(feed["id"])) == exported  # stdout: the same bytes

    port = int(cli.settings.public_url.rsplit(":", 1)[1])
    with serve(create_app(cli.settings, background=False), port=port) as base:
        served = httpx.get(f"{base}/feeds/{token_of(feed_url)}.ics")
    assert served.status_code == 200
    assert served.content.decode().splitlines() == exported.decode().splitlines()  # a readable diff
    assert served.content == exported

    narrowed = cli.raw("export", "--feed", str(feed["id"]), "--set", "sources=movies")
    assert 0 < len(icalendar.Calendar.from_ical(narrowed).walk("VEVENT")) < len(calendar.walk("VEVENT"))


def test_rekey_moves_every_secret_to_the_new_key(cli_each_backend: Cli) -> None:
    cli = cli_each_backend
    old_key = cli.settings.secret_keys[0]
    new_key = generate_key()
    feed_url = cli.connect()["feed_url"]
    result = cli("rekey", AIRDATE_SECRET_KEYS=f"{new_key},{old_key}")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 3 stored secrets" in result.stdout  # access + refresh token, one feed token

    new_only = replace(cli.settings, secret_keys=(new_key,))
    moved = Cli(settings=new_only, cwd=cli.cwd)
    assert [feed["url"] for feed in moved.feeds()] == [feed_url]
    exported = moved.raw("export", "--feed", str(moved.feeds()[0]["id"]))  # needs the Trakt token
    assert icalendar.Calendar.from_ical(exported).walk("VEVENT")
    assert_one_error_line(cli("feeds", "list"), "AIRDATE_SECRET_KEYS")  # the old key alone is useless


def test_verbs_that_never_talk_to_trakt_run_without_its_client_id(cli: Cli) -> None:
    feed_url = cli.connect()["feed_url"]
    no_trakt = {"AIRDATE_TRAKT_CLIENT_ID": "", "AIRDATE_TRAKT_CLIENT_SECRET": ""}
    assert [feed["url"] for feed in json.loads(cli.ok("feeds", "list", "--json", **no_trakt))] == [feed_url]
    new_key = generate_key()
    rekeyed = cli.ok("rekey", AIRDATE_SECRET_KEYS=f"{new_key},{cli.settings.secret_keys[0]}", **no_trakt)
    assert "re-encrypted 3 stored secrets" in rekeyed
    assert_one_error_line(cli("connect", **no_trakt), "AIRDATE_TRAKT_CLIENT_ID")


def test_doctor_reports_ok_for_a_working_install(cli_each_backend: Cli, sandbox: RunningSandbox) -> None:
    cli = cli_each_backend
    cli.connect()
    result = cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(secret in result.stdout + result.stderr for secret in upstream_secrets(sandbox))
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok ") for line in lines), lines
    assert any(line.startswith("ok    Trakt user demo: connected as Demo") for line in lines), lines
    assert any(line.startswith("ok    TMDB:") for line in lines), lines
    assert any("database: reachable" in line for line in lines), lines


def test_doctor_fails_on_upstream_trouble(cli: Cli, sandbox: RunningSandbox) -> None:
    cli.connect()
    sandbox.state.add_faults([{"prefix": "/users/settings", "status": 401}])
    result = cli("doctor", AIRDATE_TMDB_TOKEN="not-the-token")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    [user_line] = [line for line in lines if "Trakt user demo" in line]
    assert user_line.startswith("FAIL") and "airdate connect" in user_line
    [tmdb_line] = [line for line in lines if "TMDB" in line]
    assert tmdb_line.startswith("FAIL") and "AIRDATE_TMDB_TOKEN" in tmdb_line
    assert "Traceback" not in result.stderr


def test_doctor_lists_every_configuration_problem_and_an_unmigrated_database(tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}",
        "AIRDATE_SECRET_KEYS": "not-a-key",
        "AIRDATE_CACHE_TTL": "soon",
    }
    result = invoke_airdate("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert [line.split(":")[1].strip() for line in fails[:2]] == ["AIRDATE_SECRET_KEYS", "AIRDATE_CACHE_TTL"]
    assert any("never migrated" in line and "airdate migrate" in line for line in fails), fails
    assert any("AIRDATE_TRAKT_CLIENT_ID" in line for line in fails), fails
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("verb", "variables", "named"),
    [
        (["feeds", "list"], {}, "AIRDATE_SECRET_KEYS"),
        (["feeds", "list"], {"AIRDATE_SECRET_KEYS": "c2hvcnQ="}, "AIRDATE_SECRET_KEYS"),
        (["feeds", "list"], {"AIRDATE_CACHE_TTL": "an hour"}, "AIRDATE_CACHE_TTL"),
        (["migrate"], {"AIRDATE_DATABASE_URL": "mysql://db/airdate"}, "AIRDATE_DATABASE_URL"),
        (["serve", "--port", "0"], {}, "AIRDATE_TRAKT_CLIENT_ID"),
    ],
)
def test_configuration_errors_are_one_line_naming_the_variable(
    tmp_path: Path, verb: list[str], variables: dict[str, str], named: str
) -> None:
    """In-process, except `serve`: a start-up error must be one line on the real process's stderr."""
    run = run_airdate if verb[0] == "serve" else invoke_airdate
    keys = {} if named == "AIRDATE_SECRET_KEYS" else {"AIRDATE_SECRET_KEYS": generate_key()}
    env = {
        **BASE_ENV,
        **keys,
        "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        **variables,
    }
    result = run(*verb, env=env, cwd=tmp_path)
    assert result.stderr.count("\n") == 1, result.stderr
    assert_one_error_line(result, f"airdate: {named}: ")


def test_a_dot_env_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AIRDATE_CACHE_TTL=5\n")
    result = invoke_airdate(
        "feeds", "list", env={**BASE_ENV, "AIRDATE_SECRET_KEYS": generate_key()}, cwd=tmp_path
    )
    assert_one_error_line(result, "AIRDATE_CACHE_TTL", "out of range")


@pytest.mark.parametrize(
    ("fault", "config", "mentions"),
    [
        (
            {"prefix": "/oauth/device/code", "status": 401},
            {},
            ["client id or secret", "AIRDATE_TRAKT_CLIENT_ID"],
        ),
        ({"prefix": "/oauth/device/token", "status": 503}, {}, ["unavailable", "try again"]),
        ({"prefix": "/users/settings", "status": 401}, {}, ["rejected", "airdate connect"]),
        ({"prefix": "/users/settings", "body": "malformed"}, {}, ["malformed JSON", "try again"]),
        ({"prefix": "/users/settings", "status": 503}, {}, ["unavailable"]),
        (None, {"device_outcome": "deny"}, ["declined", "airdate connect"]),
        (None, {"device_outcome": "expire"}, ["expired", "airdate connect"]),
    ],
)
def test_connect_failures_are_one_line_saying_what_to_do(
    cli: Cli,
    sandbox: RunningSandbox,
    fault: dict[str, Any] | None,
    config: dict[str, Any],
    mentions: list[str],
) -> None:
    if fault is not None:
        sandbox.state.add_faults([fault])
    sandbox.state.configure(config)
    result = cli("connect", "--json")
    assert result.stdout == ""
    assert_one_error_line(result, *mentions)
    assert cli.services(lambda services: user_slugs(services.sessions)) == {}


def test_serve_answers_on_the_port_it_got_and_stops_cleanly(cli: Cli) -> None:
    with running(["serve", "--port", "0"], env_for(cli.settings), cli.cwd, "Airdate serving on") as run:
        out = run.head
        found = re.search(r"Airdate serving on (http://127\.0\.0\.1:(\d+))", out)
        assert found is not None and found[2] != "0", out  # the real port, not the requested 0
        assert httpx.get(f"{found[1]}/healthz", timeout=10).status_code == 200


def test_sandbox_prints_what_to_point_airdate_at(tmp_path: Path) -> None:
    with running(["sandbox", "--port", "0"], BASE_ENV, tmp_path, "Press Ctrl-C") as run:
        out = run.head
        printed = dict(re.findall(r"^\s+(AIRDATE_\w+)=(\S+)$", out, re.MULTILINE))
        base = printed["AIRDATE_TMDB_API_URL"]
        assert printed["AIRDATE_TRAKT_API_URL"] == printed["AIRDATE_TRAKT_AUTH_URL"] == base
        assert not base.endswith(":0")
        configuration = httpx.get(
            f"{base}/3/configuration",
            timeout=10,
            headers={"Authorization": f"Bearer {printed['AIRDATE_TMDB_TOKEN']}"},
        )
        assert configuration.status_code == 200 and "poster_sizes" in configuration.json()["images"]
        device = httpx.post(
            f"{base}/oauth/device/code", json={"client_id": printed["AIRDATE_TRAKT_CLIENT_ID"]}, timeout=10
        )
        assert device.status_code == 200 and device.json()["user_code"]


def test_database_unreachable_is_one_line(tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "AIRDATE_SECRET_KEYS": generate_key(),
        "AIRDATE_TRAKT_CLIENT_ID": "any",
        "AIRDATE_DATABASE_URL": f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none",
    }
    assert_one_error_line(invoke_airdate("feeds", "list", env=env, cwd=tmp_path), "AIRDATE_DATABASE_URL")
    env["AIRDATE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}"
    assert_one_error_line(invoke_airdate("feeds", "list", env=env, cwd=tmp_path), "airdate migrate")


@contextmanager
def unwritable_directory() -> Iterator[tuple[Path, list[str], int]]:
    """(a directory this test's command cannot write, the command prefix to run as, that uid).

    As root (containers, CI) nothing is unwritable, so the command runs as `nobody` via setpriv, the
    way a container's non-root user meets a bind mount owned by another uid; otherwise the directory
    is made read-only for ourselves.
    """
    with tempfile.TemporaryDirectory(prefix="airdate-ro-") as parent:
        directory = Path(parent) / "data"
        directory.mkdir()
        os.chmod(parent, 0o755)
        if os.geteuid() == 0:
            yield directory, ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"], 65534
        else:
            directory.chmod(0o555)
            yield directory, [], os.geteuid()
            directory.chmod(0o755)


@pytest.mark.parametrize("verb", [["migrate"], ["serve", "--port", "0"]])
def test_a_data_directory_that_is_not_writable_stops_start_up_in_one_line_naming_it_and_the_uid(
    verb: list[str],
) -> None:
    with unwritable_directory() as (directory, run_as, uid):
        env = {
            **BASE_ENV,
            "AIRDATE_SECRET_KEYS": generate_key(),
            "AIRDATE_TRAKT_CLIENT_ID": "any",
            "AIRDATE_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'airdate.db'}",
        }
        result = subprocess.run(
            [*run_as, str(AIRDATE), *verb],
            env=env,
            cwd=directory.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        line = assert_one_error_line(result, str(directory), f"uid {uid}", "not writable")
        assert "AIRDATE_DATABASE_URL" not in line
        assert not (directory / "airdate.db").exists()
