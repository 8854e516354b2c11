"""The table of `airdate` verbs: where each one lives and the line `airdate --help` shows for it.

Why a table: `airdate --help` must list every verb without importing any of them (the verbs pull in
SQLAlchemy, Starlette and uvicorn, most of a second before anything is printed), so the summaries live
here, read by the lazy group for the listing and by each verb for its own `--help`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    """A verb as the overview lists it: `target` is "module:attribute" of its click command."""

    target: str
    summary: str


VERBS = {
    "demo": Entry(
        "app.cli.run:demo",
        "run everything offline: sandbox Trakt/TMDB, a throwaway database, a demo user; prints the feed "
        "and dashboard URLs",
    ),
    "serve": Entry("app.cli.run:serve", "run the service (uvicorn)"),
    "migrate": Entry("app.cli.migrate:migrate", "upgrade AIRDATE_DATABASE_URL to the newest schema"),
    "connect": Entry(
        "app.cli.connect:connect",
        "sign in with Trakt from this terminal (device code); creates the user and a default feed and "
        "prints its URL",
    ),
    "feeds": Entry("app.cli.feeds:feeds", "list, create, update, rotate or revoke a user's feeds"),
    "users": Entry("app.cli.users:users", "delete a user and all their data"),
    "export": Entry("app.cli.feeds:export", "write a feed's .ics to a file or stdout"),
    "keygen": Entry("app.cli.keys:keygen", "print a new secret key for AIRDATE_SECRET_KEYS"),
    "rekey": Entry(
        "app.cli.keys:rekey", "re-encrypt every stored token with the first key in AIRDATE_SECRET_KEYS"
    ),
    "doctor": Entry(
        "app.cli.doctor:doctor", "check configuration, database, Trakt and TMDB, and say what is wrong"
    ),
    "sandbox": Entry("app.cli.run:sandbox", "run the stand-in Trakt/TMDB alone on a port"),
}


def summary(verb: str) -> str:
    """The verb's one line, for its own `--help` (the same words the overview shows)."""
    return VERBS[verb].summary
