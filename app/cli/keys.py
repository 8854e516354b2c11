"""`airdate keygen` and `airdate rekey`: make a secret key, and move every stored secret onto the first.

Why together: they are the two halves of a key rotation (put a new key first in AIRDATE_SECRET_KEYS,
rekey, then drop the old one), and a printed count from `rekey` is the signal that old keys can go.
"""

from __future__ import annotations

import click

from app.cli.command import Verb, with_services
from app.cli.verbs import summary
from app.services.container import Services
from app.store.maintenance import rekey as rekey_secrets
from app.store.secrets import generate_key


@click.command(cls=Verb, help=summary("keygen"))
def keygen() -> None:
    click.echo(generate_key())


@click.command(cls=Verb, help=summary("rekey"))
def rekey() -> None:
    async def work(services: Services) -> None:
        count = await rekey_secrets(services.sessions, services.vault)
        click.echo(f"re-encrypted {count} stored secrets with the first key; older keys can now be removed")

    with_services(work)
