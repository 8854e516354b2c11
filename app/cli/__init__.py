"""The `airdate` command: one argparse parser, one verb per job, one line per expected failure.

Why errors are handled only here: every verb raises the same small set of expected exceptions (see
`app.cli.errors.EXPECTED`) and this is the single place that turns them into `airdate: <line>` and
exit status 1, so no verb can forget and print a traceback. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from app.cli import feeds, run, users
from app.cli.datadir import check_data_directory
from app.cli.doctor import doctor
from app.cli.errors import EXPECTED, describe
from app.cli.rekey import rekey
from app.cli.servers import run_serving
from app.core.config import Settings
from app.services.container import Services, open_services
from app.services.signin import device_sign_in
from app.store.migrate import upgrade
from app.store.secrets import generate_key
from app.upstream.trakt_auth import DeviceCode

Verb = Callable[[argparse.Namespace], int]


def _services_verb(work: Callable[[Services, argparse.Namespace], Coroutine[Any, Any, None]]) -> Verb:
    """A verb that needs configured services (secret keys; the Trakt client id only once one calls Trakt)."""

    def verb(args: argparse.Namespace) -> int:
        async def go() -> None:
            async with open_services(Settings.from_env()) as services:
                await work(services, args)

        asyncio.run(go())
        return 0

    return verb


def _keygen(args: argparse.Namespace) -> int:
    print(generate_key())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env(require_secret_keys=False)
    check_data_directory(settings.database_url)
    upgrade(settings.database_url)
    print("database is at the newest schema", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.require_trakt()
    check_data_directory(settings.database_url)
    if args.workers > 1:
        run.serve_workers(settings, args.host, args.port, args.workers)
    else:
        run_serving(run.serve(settings, args.host, args.port))
    return 0


def _demo(args: argparse.Namespace) -> int:
    asyncio.run(run.demo(args.host, args.port))
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    asyncio.run(run.run_sandbox(args.host, args.port))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    return 0 if asyncio.run(doctor()) else 1


def _show_code(code: DeviceCode) -> None:
    """On stderr, so `connect --json` keeps stdout for the one JSON object."""
    minutes = max(1, code.expires_in // 60)
    print(
        f"Open {code.verification_url} and enter the code {code.user_code} "
        f"(within {minutes} minutes). Waiting for approval ...",
        file=sys.stderr,
        flush=True,
    )


async def _connect(services: Services, args: argparse.Namespace) -> None:
    signed_in = await device_sign_in(services, show_code=_show_code, feed_name=args.name)
    url = services.accounts.feed_url(signed_in.feed.token)
    if args.json:
        print(json.dumps({"user": signed_in.slug, "feed_url": url}))
    else:
        print(f"Connected Trakt user {signed_in.slug!r}. Subscribe to this feed URL:", file=sys.stderr)
        print(url)


async def _rekey(services: Services, args: argparse.Namespace) -> None:
    count = await rekey(services)
    print(f"re-encrypted {count} stored secrets with the first key; older keys can now be removed")


async def _feeds_list(services: Services, args: argparse.Namespace) -> None:
    await feeds.list_feeds(services, user=args.user, every_user=args.all, as_json=args.json)


async def _feeds_create(services: Services, args: argparse.Namespace) -> None:
    await feeds.create_feed(services, user=args.user, name=args.name, values=feeds.option_values(args.set))


async def _feeds_update(services: Services, args: argparse.Namespace) -> None:
    await feeds.update_feed(services, args.feed_id, name=args.name, values=feeds.option_values(args.set))


async def _feeds_rotate(services: Services, args: argparse.Namespace) -> None:
    await feeds.rotate_feed(services, args.feed_id)


async def _feeds_revoke(services: Services, args: argparse.Namespace) -> None:
    await feeds.revoke_feed(services, args.feed_id)


async def _users_delete(services: Services, args: argparse.Namespace) -> None:
    await users.delete_user(services, args.user, yes=args.yes)


async def _export(services: Services, args: argparse.Namespace) -> None:
    await feeds.export_feed(services, args.feed, out=args.out, values=feeds.option_values(args.set))


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        type=feeds.assignment,
        metavar="KEY=VALUE",
        help="a feed option as in the feed URL query (sources=shows,premieres past_days=14 "
        "all_day=true alarm=30 tz=Europe/Berlin ...); repeat for several",
    )


def _add_address(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=port, help="port to listen on; 0 picks a free one (default %(default)s)"
    )


def positive_count(text: str) -> int:
    """argparse type for counts: a whole number of at least 1."""
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airdate", description="Your Trakt calendar as a live iCalendar feed, with TMDB posters."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, summary: str, run_verb: Verb | None, sub: Any = verbs) -> argparse.ArgumentParser:
        """A verb with `--help`; `run_verb` is None for a group whose actions carry their own."""
        command: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary)
        if run_verb is not None:
            command.set_defaults(run=run_verb)
        return command

    _add_address(
        verb(
            "demo",
            "run everything offline: sandbox Trakt/TMDB, a throwaway database, "
            "a demo user; prints the feed and dashboard URLs",
            _demo,
        ),
        8000,
    )
    serve = verb("serve", "run the service (uvicorn)", _serve)
    _add_address(serve, 8000)
    serve.add_argument(
        "--workers",
        type=positive_count,
        default=1,
        metavar="N",
        help="worker processes sharing the port, e.g. one per CPU core (default %(default)s)",
    )
    verb("migrate", "upgrade AIRDATE_DATABASE_URL to the newest schema", _migrate)
    connect = verb(
        "connect",
        "sign in with Trakt from this terminal (device code); creates the user "
        "and a default feed and prints its URL",
        _services_verb(_connect),
    )
    connect.add_argument(
        "--json", action="store_true", help='print {"user": ..., "feed_url": ...} instead of the bare URL'
    )
    connect.add_argument("--name", help="name of the default feed")

    feed_verbs = verb("feeds", "list, create, update, rotate or revoke a user's feeds", None).add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    listing = verb(
        "list",
        "show feeds: id, name, URL, options, last poll, poll count",
        _services_verb(_feeds_list),
        feed_verbs,
    )
    listing.add_argument("--user", metavar="SLUG", help="whose feeds (may be left out with one user)")
    listing.add_argument("--all", action="store_true", help="the feeds of every user")
    listing.add_argument("--json", action="store_true", help="print JSON")
    create = verb("create", "create a feed and print its URL", _services_verb(_feeds_create), feed_verbs)
    create.add_argument("--user", metavar="SLUG", help="whose feed (may be left out with one user)")
    create.add_argument("--name", help="the feed's name")
    _add_set(create)
    update = verb("update", "rename a feed or change its options", _services_verb(_feeds_update), feed_verbs)
    update.add_argument("feed_id", type=int, metavar="FEED_ID")
    update.add_argument("--name", help="the feed's new name")
    _add_set(update)
    for name, summary, work in (
        (
            "rotate",
            "give a feed a new secret URL (printed); the old URL stops working at once",
            _feeds_rotate,
        ),
        ("revoke", "switch a feed off for good; its URL stops working at once", _feeds_revoke),
    ):
        verb(name, summary, _services_verb(work), feed_verbs).add_argument(
            "feed_id", type=int, metavar="FEED_ID"
        )

    user_verbs = verb("users", "delete a user and all their data", None).add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    deletion = verb(
        "delete",
        "revoke a user's Trakt access and delete them with their feeds, tokens "
        "and cached calendars (their feed URLs answer 404 from then on)",
        _services_verb(_users_delete),
        user_verbs,
    )
    deletion.add_argument(
        "user", metavar="SLUG", help="the user's Trakt slug (see `airdate feeds list --all`)"
    )
    deletion.add_argument("--yes", action="store_true", help="really delete; without it nothing happens")

    export = verb("export", "write a feed's .ics to a file or stdout", _services_verb(_export))
    export.add_argument("--feed", type=int, required=True, metavar="FEED_ID")
    export.add_argument("--out", type=Path, metavar="FILE", help="where to write (default: stdout)")
    _add_set(export)
    verb("keygen", "print a new secret key for AIRDATE_SECRET_KEYS", _keygen)
    verb(
        "rekey",
        "re-encrypt every stored token with the first key in AIRDATE_SECRET_KEYS",
        _services_verb(_rekey),
    )
    verb("doctor", "check configuration, database, Trakt and TMDB, and say what is wrong", _doctor)
    _add_address(verb("sandbox", "run the stand-in Trakt/TMDB alone on a port", _sandbox), 8765)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except EXPECTED as exc:
        print(f"airdate: {describe(exc)}", file=sys.stderr)
        return 1
    return status
