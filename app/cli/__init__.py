"""The `airdate` command: a click group of lazily imported verbs, one module per job.

Why this module stays light: `airdate --help` and a mistyped verb must answer at once, so nothing here
imports the database layer, the HTTP clients or the web app; `app.cli.lazy` imports a verb's module
only when that verb runs (see `app.cli.verbs` for the table). Expected failures become one line in
`app.cli.command`, the base of every verb.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.cli.lazy import LazyGroup
from app.cli.verbs import VERBS

airdate = LazyGroup(
    "airdate",
    verbs=VERBS,
    help="Your Trakt calendar as a live iCalendar feed, with TMDB posters.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (the `airdate` console script and `python -m app.cli`); the exit status.

    Usage errors exit 2, expected failures 1, Ctrl-C 130, as the shell's conventions have it.
    """
    try:
        airdate.main(args=None if argv is None else list(argv), prog_name="airdate")
    except SystemExit as exit_:  # click ends every run this way, success included
        code = exit_.code
        return code if isinstance(code, int) else 0 if code is None else 1
    return 0
