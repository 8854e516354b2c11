"""`airdate connect`: sign a Trakt user in from the terminal with a device code.

Why the code goes to stderr: `connect --json` keeps stdout for the one JSON object a script reads,
while the person at the terminal still sees where to enter the code.
"""

from __future__ import annotations

import json
import sys

import click

from app.cli.command import Verb, with_services
from app.cli.verbs import summary
from app.services.container import Services
from app.services.signin import device_sign_in
from app.upstream.trakt_auth import DeviceCode


def show_code(code: DeviceCode) -> None:
    minutes = max(1, code.expires_in // 60)
    print(
        f"Open {code.verification_url} and enter the code {code.user_code} "
        f"(within {minutes} minutes). Waiting for approval ...",
        file=sys.stderr,
        flush=True,
    )


@click.command(cls=Verb, help=summary("connect"))
@click.option(
    "--json", "as_json", is_flag=True, help='print {"user": ..., "feed_url": ...} instead of the bare URL'
)
@click.option("--name", help="name of the default feed")
def connect(as_json: bool, name: str | None) -> None:
    async def work(services: Services) -> None:
        signed_in = await device_sign_in(services, show_code=show_code, feed_name=name)
        url = services.accounts.feed_url(signed_in.feed.token)
        if as_json:
            print(json.dumps({"user": signed_in.slug, "feed_url": url}))
        else:
            print(f"Connected Trakt user {signed_in.slug!r}. Subscribe to this feed URL:", file=sys.stderr)
            print(url)

    with_services(work)
