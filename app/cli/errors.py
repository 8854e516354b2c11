"""Turning expected failures into the one line an operator reads.

Why one place: every verb can hit the same failures (bad configuration, a database that is down or not
migrated, Trakt saying no), and each must end as `airdate: <what is wrong>` plus what to do, never a
traceback. Messages are built from exception classes and short upstream descriptions only, so no
token, SQL parameter or password can leak through them.
"""

from __future__ import annotations

import errno
import socket
import sqlite3

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app.core.config import ConfigError
from app.core.errors import (
    AppCredentialsRejected,
    AuthRevoked,
    BadResponse,
    DeviceFlowError,
    NeedsReconnect,
    RateLimited,
    TokenRejected,
    Unavailable,
    UpstreamError,
    UserOrFeedNotFound,
)
from app.domain.options import OptionError
from app.feeds.service import CalendarUnavailable
from app.store.secrets import DecryptError


class CliError(Exception):
    """A failure the CLI itself detected; `str()` is the whole line to show."""


EXPECTED: tuple[type[BaseException], ...] = (
    CliError,
    ConfigError,
    OptionError,
    UserOrFeedNotFound,
    NeedsReconnect,
    DecryptError,
    CalendarUnavailable,
    UpstreamError,
    SQLAlchemyError,
    OSError,
)

_DEVICE_ADVICE = {
    "denied": "the sign-in was declined on Trakt's page; run `airdate connect` again and approve it",
    "expired": "the code expired before it was approved; run `airdate connect` again and enter the "
    "code sooner",
    "invalid_code": "Trakt no longer knows this device code; run `airdate connect` again",
    "already_used": "this device code was already used; run `airdate connect` again",
}


def describe(exc: BaseException) -> str:
    """The one line for an expected failure (see EXPECTED): what happened, then what to do."""
    if isinstance(exc, DeviceFlowError):
        return f"Trakt sign-in failed: {_DEVICE_ADVICE[exc.reason]}"
    if isinstance(exc, UpstreamError):
        return describe_upstream("Trakt", exc)  # the verbs meet TMDB only in `doctor`, which words its own
    if isinstance(exc, DecryptError):
        return (
            f"{exc}; AIRDATE_SECRET_KEYS must still list the key the secrets were stored with "
            "(keep old keys after the new one until `airdate rekey` has run)"
        )
    if isinstance(exc, NeedsReconnect):
        return "Trakt no longer accepts this user's sign-in; run `airdate connect` and sign in again"
    if isinstance(exc, CalendarUnavailable):
        return "Trakt cannot be reached and no earlier calendar is stored; try again in a few minutes"
    if (reason := unreachable_database(exc)) is not None:
        return (
            f"cannot reach the database ({reason}); check AIRDATE_DATABASE_URL and that the database is "
            "running and reachable from here"
        )
    if isinstance(exc, SQLAlchemyError):
        return describe_database(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"
    return str(exc)


# What a failed connect looks like when the server is down, unknown or silent: asyncpg raises these
# from its connect unwrapped (SQLAlchemy wraps only DBAPI errors); a plain OSError counts only with
# one of the errnos a connect gives.
_UNREACHABLE = (ConnectionError, socket.gaierror, TimeoutError)
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EADDRNOTAVAIL,
}


def unreachable_database(exc: BaseException) -> str | None:
    """Why the database could not be reached, or None when `exc` means something else.

    Only a failed connect counts: refused, unknown host, timed out, a connection lost under us
    (SQLAlchemy marks it invalidated), or SQLite unable to open its file. Any other OSError (a file
    that cannot be written, a port in use) says what it is instead.
    """
    if isinstance(exc, DBAPIError):
        if isinstance(exc.orig, sqlite3.Error) and exc.orig.sqlite_errorcode == sqlite3.SQLITE_CANTOPEN:
            return str(exc.orig)
        if exc.connection_invalidated:
            return f"the connection was lost: {_first_line(exc.orig or exc)}"
        return None
    if isinstance(exc, _UNREACHABLE) or (isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS):
        return _first_line(exc)
    return None


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def describe_upstream(service: str, exc: UpstreamError) -> str:
    """Name the service, the kind of failure and the remedy; the client messages carry no secrets."""
    if isinstance(exc, AuthRevoked):
        return f"{service} rejected the user's token ({exc}); run `airdate connect` to sign in again"
    if isinstance(exc, TokenRejected):  # only after a refresh or a fresh grant: once is an outage
        return (
            f"{service} rejected the user's access token ({exc}); try again later, and if it keeps "
            "happening run `airdate connect` to sign in again"
        )
    if isinstance(exc, AppCredentialsRejected):
        return f"{service} rejected this installation's credentials ({exc}); check " + (
            "AIRDATE_TRAKT_CLIENT_ID and AIRDATE_TRAKT_CLIENT_SECRET"
            if service == "Trakt"
            else "AIRDATE_TMDB_TOKEN"
        )
    if isinstance(exc, RateLimited):
        return f"{service} is rate limiting ({exc}); try again in {max(1, round(exc.retry_after))} s"
    if isinstance(exc, Unavailable):
        return f"{service} is unavailable ({exc}); try again in a few minutes"
    if isinstance(exc, BadResponse):
        return f"{service} sent an answer Airdate cannot use ({exc}); try again later"
    return f"{service} request failed ({exc})"


def describe_database(exc: SQLAlchemyError) -> str:
    """The driver's first line only: SQLAlchemy's own text carries the SQL and its parameters."""
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (
        f"database error ({type(cause).__name__}: {_first_line(cause)}); check AIRDATE_DATABASE_URL and that "
        "`airdate migrate` has run"
    )
