"""`airdate feeds ...` and `airdate export`: manage a user's feeds and write one as a file.

Why through `Accounts` and `FeedService`: the dashboard and the feed route use the same two services,
so a feed rotated or revoked here stops working exactly as if it had been done on the web, and an
export is byte for byte what a calendar app would fetch at that moment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from app.cli.command import Verb, VerbGroup, with_services
from app.cli.errors import CliError
from app.cli.verbs import summary
from app.domain.options import FeedOptions, parse_options, unique_values
from app.services.container import Services
from app.store.accounts import DEFAULT_FEED_NAME, FeedInfo
from app.store.maintenance import user_slugs
from app.store.tables import MAX_ROW_ID


def split_assignments(
    ctx: click.Context, param: click.Parameter, texts: Sequence[str]
) -> list[tuple[str, str]]:
    """`--set key=value`: the split only.

    Values are judged by `parse_options`, and a key given twice is refused by `unique_values`, as it
    is in a feed URL's query.
    """
    pairs = []
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", ctx, param)
        pairs.append((key.strip(), value))
    return pairs


set_option = click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    callback=split_assignments,
    help="a feed option as in the feed URL query (sources=shows,premieres past_days=14 all_day=true "
    "alarm=30 tz=Europe/Berlin ...); repeat for several",
)
FEED_ID = click.IntRange(1, MAX_ROW_ID)  # a usage error, not a database one, for an id no row can have
feed_id_argument = click.argument("feed_id", type=FEED_ID, metavar="FEED_ID")


def options_text(options: FeedOptions) -> str:
    """Options as the `--set`/URL query words that would recreate them (unset ones left out)."""
    return " ".join(
        f"{key}={_option_word(value)}" for key, value in options.to_json().items() if value is not None
    )


def _option_word(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def resolve_user(services: Services, slug: str | None) -> int:
    """The user `--user` names, or the only user there is; otherwise say which choices exist."""
    if slug is not None:
        return await services.accounts.user_id(slug)
    known = await user_slugs(services.sessions)
    if len(known) == 1:
        return next(iter(known))
    if not known:
        raise CliError("no users yet; connect one with `airdate connect`")
    raise CliError(f"several users exist; name one with --user ({', '.join(sorted(known.values()))})")


def feed_json(feed: FeedInfo, url: str, owner: str) -> dict[str, Any]:
    return {
        "id": feed.id,
        "user": owner,
        "name": feed.name,
        "url": url,
        "options": feed.options.to_json(),
        "revoked": feed.revoked,
        "created_at": feed.created_at.isoformat(),
        "last_polled_at": None if feed.last_polled_at is None else feed.last_polled_at.isoformat(),
        "poll_count": feed.poll_count,
    }


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


async def list_feeds(services: Services, *, user: str | None, every_user: bool, as_json: bool) -> None:
    owners = await user_slugs(services.sessions)
    user_ids = list(owners) if every_user else [await resolve_user(services, user)]
    listed = [
        (feed, owners[user_id])
        for user_id in user_ids
        for feed in await services.accounts.list_feeds(user_id)
    ]
    if as_json:
        print(json.dumps([feed_json(f, services.accounts.feed_url(f.token), o) for f, o in listed], indent=2))
        return
    if not listed:
        print("no feeds; create one with `airdate feeds create`")
    for feed, owner in listed:
        print(f"#{feed.id}  {feed.name}  (user {owner})")
        print(f"    url:        {services.accounts.feed_url(feed.token)}")
        print(f"    options:    {options_text(feed.options)}")
        print(f"    last poll:  {_when(feed.last_polled_at)}")
        print(f"    polls:      {feed.poll_count}")


async def create_feed(
    services: Services, *, user: str | None, name: str | None, values: Mapping[str, str]
) -> None:
    options = parse_options(values)
    user_id = await resolve_user(services, user)
    feed = await services.accounts.create_feed(user_id, name or DEFAULT_FEED_NAME, options)
    print(f"created feed #{feed.id}: {services.accounts.feed_url(feed.token)}")


async def update_feed(
    services: Services, feed_id: int, *, name: str | None, values: Mapping[str, str]
) -> None:
    current = await services.accounts.get_feed(feed_id)
    options = parse_options(values, current.options) if values else None
    if name is None and options is None:
        raise CliError("nothing to change; give --name and/or --set key=value")
    feed = await services.accounts.update_feed(feed_id, name=name, options=options)
    print(f"updated feed #{feed.id} {feed.name!r}: {options_text(feed.options)}")


async def rotate_feed(services: Services, feed_id: int) -> None:
    feed = await services.accounts.rotate_feed(feed_id)
    print(services.accounts.feed_url(feed.token))
    print(f"feed #{feed.id} has a new URL; the old one stopped working", file=sys.stderr)


async def revoke_feed(services: Services, feed_id: int) -> None:
    await services.accounts.revoke_feed(feed_id)
    print(f"revoked feed #{feed_id}; its URL no longer works")


async def export_feed(
    services: Services, feed_id: int, *, out: Path | None, values: Mapping[str, str]
) -> None:
    """The same lookup, options and render as `GET /feeds/<token>.ics`, so the bytes match."""
    feed = await services.accounts.get_feed(feed_id)
    context = await services.feeds.lookup(feed.token)
    if context is None:
        raise CliError(f"feed #{feed_id} is revoked; list live feeds with `airdate feeds list`")
    rendered = await services.feeds.render(context, services.feeds.options(context, values))
    if out is None:
        sys.stdout.buffer.write(rendered.body)
        sys.stdout.buffer.flush()
        return
    try:
        await asyncio.to_thread(out.write_bytes, rendered.body)
    except OSError as exc:
        raise CliError(f"cannot write {out} ({exc.strerror or exc})") from None
    print(f"wrote {len(rendered.entries)} entries to {out}", file=sys.stderr)


@click.group(cls=VerbGroup, help=summary("feeds"))
def feeds() -> None:
    """Only a name for its actions (`feeds list`, `feeds create`, ...): the group itself does nothing."""


@feeds.command("list", help="show feeds: id, name, URL, options, last poll, poll count")
@click.option("--user", metavar="SLUG", help="whose feeds (may be left out with one user)")
@click.option("--all", "every_user", is_flag=True, help="the feeds of every user")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def list_command(user: str | None, every_user: bool, as_json: bool) -> None:
    with_services(lambda services: list_feeds(services, user=user, every_user=every_user, as_json=as_json))


@feeds.command("create", help="create a feed and print its URL")
@click.option("--user", metavar="SLUG", help="whose feed (may be left out with one user)")
@click.option("--name", help="the feed's name")
@set_option
def create_command(user: str | None, name: str | None, assignments: Sequence[tuple[str, str]]) -> None:
    with_services(
        lambda services: create_feed(services, user=user, name=name, values=unique_values(assignments))
    )


@feeds.command("update", help="rename a feed or change its options")
@feed_id_argument
@click.option("--name", help="the feed's new name")
@set_option
def update_command(feed_id: int, name: str | None, assignments: Sequence[tuple[str, str]]) -> None:
    with_services(
        lambda services: update_feed(services, feed_id, name=name, values=unique_values(assignments))
    )


@feeds.command("rotate", help="give a feed a new secret URL (printed); the old URL stops working at once")
@feed_id_argument
def rotate_command(feed_id: int) -> None:
    with_services(lambda services: rotate_feed(services, feed_id))


@feeds.command("revoke", help="switch a feed off for good; its URL stops working at once")
@feed_id_argument
def revoke_command(feed_id: int) -> None:
    with_services(lambda services: revoke_feed(services, feed_id))


@click.command(cls=Verb, help=summary("export"))
@click.option("--feed", "feed_id", type=FEED_ID, required=True, metavar="FEED_ID")
@click.option(
    "--out", type=click.Path(path_type=Path), metavar="FILE", help="where to write (default: stdout)"
)
@set_option
def export(feed_id: int, out: Path | None, assignments: Sequence[tuple[str, str]]) -> None:
    with_services(lambda services: export_feed(services, feed_id, out=out, values=unique_values(assignments)))
