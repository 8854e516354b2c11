"""The `airdate` group that imports a verb only when that verb runs, and the help layout it shares.

Why lazily: every verb needs the database layer, most need the HTTP clients, and `serve` needs
uvicorn and Starlette; importing them all took 0.8 s before `airdate --help` printed a line. The group
lists verbs from `app.cli.verbs` and imports only the module of the one invoked, so help and usage
errors are instant and each verb pays only for what it uses.

Why a formatter of our own: help keeps the shape the command had before click (a lowercase "usage:"
line and the verbs indented under their heading), which scripts and the tests read.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from app.cli.verbs import Entry


class Formatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "usage: " if prefix is None else prefix)


class Context(click.Context):
    formatter_class = Formatter


class LazyGroup(click.Group):
    """A group whose commands are named by `verbs` and imported on first use."""

    context_class = Context

    def __init__(self, *args: Any, verbs: Mapping[str, Entry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verbs = verbs

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self._verbs)  # the table's order: the everyday verbs first

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self._verbs.get(cmd_name)
        if entry is None:
            return None
        module, _, attribute = entry.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), entry.target
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The verbs and their summaries from the table alone, without importing a single verb."""
        rows = [(name, entry.summary) for name, entry in self._verbs.items()]
        with formatter.section("Commands"), formatter.indentation():
            formatter.write_dl(rows)
