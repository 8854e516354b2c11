"""`airdate migrate`: bring AIRDATE_DATABASE_URL to the newest schema.

Why it needs no secret keys: the schema holds no secret until a verb stores one, so a fresh install
can be migrated before its keys are chosen.
"""

from __future__ import annotations

import click

from app.cli.command import Verb
from app.cli.datadir import check_data_directory
from app.cli.verbs import summary
from app.core.config import Settings
from app.store.migrate import upgrade


@click.command(cls=Verb, help=summary("migrate"))
def migrate() -> None:
    settings = Settings.from_env(require_secret_keys=False)
    check_data_directory(settings.database_url)
    upgrade(settings.database_url)
    click.echo("database is at the newest schema", err=True)
