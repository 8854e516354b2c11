"""`airdate users delete`: take a person's data out, as the dashboard's "delete my data" does.

Why it calls `Accounts.delete_user`: the web page and this verb must revoke at Trakt and delete the
same rows in the same order, so a person removed by the operator is as gone as one who did it
themselves. It asks for `--yes` because nothing can bring the data back.
"""

from __future__ import annotations

import sys

import click

from app.cli.command import VerbGroup, with_services
from app.cli.errors import CliError
from app.cli.verbs import summary
from app.services.container import Services


@click.group(cls=VerbGroup, help=summary("users"))
def users() -> None:
    """Only a name for its actions (`users delete`): the group itself does nothing."""


@users.command(
    help="revoke a user's Trakt access and delete them with their feeds, tokens and cached calendars "
    "(their feed URLs answer 404 from then on); SLUG is their Trakt slug (see `airdate feeds list --all`)"
)
@click.argument("user", metavar="SLUG")
@click.option("--yes", is_flag=True, help="really delete; without it nothing happens")
def delete(user: str, yes: bool) -> None:
    with_services(lambda services: delete_user(services, user, yes=yes))


async def delete_user(services: Services, slug: str, *, yes: bool) -> None:
    user_id = await services.accounts.user_id(slug)
    feeds = await services.accounts.list_feeds(user_id, include_revoked=True)
    if not yes:
        raise CliError(
            f"this revokes {slug!r}'s Trakt access and deletes the user with {len(feeds)} feed(s), "
            "tokens and cached calendars for good; run again with --yes to do it"
        )
    deletion = await services.accounts.delete_user(user_id, services.trakt.revoke)
    print(f"deleted user {slug!r} and {deletion.feeds} feed(s); their feed URLs now answer 404")
    if not deletion.revoked_at_trakt:
        print(
            "Trakt did not confirm the revocation (no grant stored, or Trakt unreachable); the person "
            "can remove the app under Connected apps in their Trakt settings",
            file=sys.stderr,
        )
