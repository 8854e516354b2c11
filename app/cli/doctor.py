"""`airdate doctor`: check configuration, database, Trakt and TMDB, one line per finding.

Why keep going after a failure: an operator fixing a broken install wants the whole list at once, not
one problem per run. Checks that depend on an earlier one (no services without valid settings) are
reported as skipped instead of failing noisily.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import click
from alembic.script import ScriptDirectory

from app.cli.command import Verb
from app.cli.errors import EXPECTED, describe, describe_upstream
from app.cli.verbs import summary
from app.core.config import ConfigError, Settings
from app.core.errors import TitleNotFound, UpstreamError
from app.services.container import Services, open_services
from app.store.maintenance import token_expiry, user_slugs
from app.store.migrate import alembic_config, current_revision
from app.store.tables import ConnectionStatus

Verdict = Literal["ok", "FAIL", "warn", "skip"]
TMDB_PROBE_MOVIE = 550  # any id will do: a 404 still proves TMDB answered and took the token


@dataclass
class Report:
    lines: list[tuple[Verdict, str]] = field(default_factory=list)

    def add(self, verdict: Verdict, text: str) -> None:
        self.lines.append((verdict, text))
        print(f"{verdict:<5} {text}", flush=True)

    @property
    def failed(self) -> bool:
        return any(verdict == "FAIL" for verdict, _ in self.lines)


def read_settings(environ: Mapping[str, str]) -> tuple[Settings, list[ConfigError]]:
    """Every configuration problem, not just the first: blank each bad variable and read again.

    A blank value means "use the default" to `Settings.from_env`, and the process environment wins
    over `.env`, so this also reaches past bad values that come from `.env`.
    """
    env = dict(environ)
    problems: list[ConfigError] = []
    while True:
        blanked = {problem.variable for problem in problems}
        try:
            settings = Settings.from_env(env, require_secret_keys="AIRDATE_SECRET_KEYS" not in blanked)
        except ConfigError as problem:
            if problem.variable in blanked:  # blanking did not help: stop rather than loop
                raise
            problems.append(problem)
            env[problem.variable] = ""
            continue
        return settings, problems


async def check_database(report: Report, url: str) -> bool:
    try:
        revision = await asyncio.to_thread(current_revision, url)
    except EXPECTED as exc:
        report.add("FAIL", f"database: {describe(exc)}")
        return False
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if revision == head:
        report.add("ok", f"database: reachable, schema at the newest revision ({head})")
        return True
    state = "never migrated" if revision is None else f"at revision {revision}, newest is {head}"
    report.add("FAIL", f"database: reachable but {state}; run `airdate migrate`")
    return False


async def check_trakt_users(report: Report, services: Services) -> None:
    owners = await user_slugs(services.sessions)
    if not owners:
        report.add("warn", "Trakt users: none connected yet; run `airdate connect`")
    for user_id, slug in owners.items():
        status = await services.connections.status(user_id)
        if status != ConnectionStatus.OK:
            report.add(
                "FAIL",
                f"Trakt user {slug}: connection is {status}; run `airdate connect` and sign in as {slug}",
            )
            continue
        try:
            check = partial(services.trakt.user_settings, gate=services.limits.gate(user_id))
            who = await services.connections.call(user_id, check)
        except EXPECTED as exc:
            report.add("FAIL", f"Trakt user {slug}: {describe(exc)}")
            continue
        expires = await token_expiry(services.sessions, user_id)
        until = "unknown" if expires is None else f"{expires:%Y-%m-%d %H:%M} UTC"
        report.add("ok", f"Trakt user {slug}: connected as {who.username}, token valid until {until}")


async def check_tmdb(report: Report, services: Services) -> None:
    if services.tmdb is None:
        report.add("warn", "TMDB: AIRDATE_TMDB_TOKEN not set; feeds will carry no posters")
        return
    try:
        await services.tmdb.poster_path("movie", TMDB_PROBE_MOVIE)
    except TitleNotFound:
        pass  # a 404 is still an answer: TMDB is reachable and accepted the token
    except UpstreamError as exc:
        report.add("FAIL", f"TMDB: {describe_upstream('TMDB', exc)}")
        return
    report.add("ok", f"TMDB: {services.settings.tmdb_api_url} answers and accepts the token")


async def run_checks(environ: Mapping[str, str] | None = None) -> bool:
    """Run every check, printing as it goes; True when nothing failed."""
    report = Report()
    settings, problems = read_settings(os.environ if environ is None else environ)
    for problem in problems:
        report.add("FAIL", f"configuration: {problem}")
    if not problems:
        report.add("ok", "configuration: all variables valid")
    database_ok = "AIRDATE_DATABASE_URL" not in {p.variable for p in problems} and await check_database(
        report, settings.database_url
    )
    if not settings.trakt_client_id:
        report.add("FAIL", "Trakt: AIRDATE_TRAKT_CLIENT_ID is not set; see README 'Trakt setup'")
    else:
        report.add("ok", "Trakt: client id set")
    if problems or not database_ok or not settings.trakt_client_id:
        report.add("skip", "Trakt users and TMDB: fix the failures above first")
        return False
    async with open_services(settings) as services:
        await check_trakt_users(report, services)
        await check_tmdb(report, services)
    return not report.failed


@click.command(cls=Verb, help=summary("doctor"))
@click.pass_context
def doctor(ctx: click.Context) -> None:
    if not asyncio.run(run_checks()):
        ctx.exit(1)
