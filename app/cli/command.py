"""What every verb shares: one line and exit status 1 per expected failure, and services on demand.

Why failures are handled here: every verb raises the same small set of expected exceptions (see
`app.cli.errors.EXPECTED`), and this is the one place that turns them into `airdate: <line>` and exit
status 1, so no verb can forget and print a traceback. Anything else is a bug and keeps its traceback.
Why services are opened per verb: each verb builds only what it uses (`migrate` and `keygen` never
open them; `rekey` and `feeds list` never build a Trakt client), and closes them before it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import click

from app.cli.errors import EXPECTED, describe
from app.cli.lazy import Context
from app.core.config import Settings
from app.services.container import Services, open_services

INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C


class Verb(click.Command):
    context_class = Context

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            ctx.exit(INTERRUPTED)
        except EXPECTED as exc:
            click.echo(f"airdate: {describe(exc)}", err=True)
            ctx.exit(1)


class VerbGroup(click.Group):
    """A verb with actions (`feeds list`, `users delete`): each action is a `Verb`."""

    context_class = Context
    command_class = Verb

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # as declared: the everyday actions first


def with_services(work: Callable[[Services], Awaitable[None]]) -> None:
    """Run `work` with services configured from the environment (secret keys required)."""

    async def go() -> None:
        async with open_services(Settings.from_env()) as services:
            await work(services)

    asyncio.run(go())


def address_options(port: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--host` and `--port` for the verbs that listen."""

    def add(function: Callable[..., Any]) -> Callable[..., Any]:
        function = click.option(
            "--port", type=int, default=port, show_default=True, help="port to listen on; 0 picks a free one"
        )(function)
        return click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")(
            function
        )

    return add
