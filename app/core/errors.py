"""The one error family: every failure a caller must tell apart, in one module (as `httpx._exceptions`).

Handlers should only ever decide "reconnect the user", "try later" or "serve stale", so upstream
failures fold into the few classes below. Messages name the method, host and path only: query strings
and bodies may carry API keys, device codes or tokens.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Anything that went wrong talking to Trakt or TMDB; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthRevoked(UpstreamError):
    """Trakt refused the grant itself (`invalid_grant` on a refresh or code exchange): ask to reconnect."""


class TokenRejected(UpstreamError):
    """Trakt answered 401 to an API call: this access token is no longer accepted.

    Not a reason to reconnect on its own: Trakt invalidates access tokens early (for instance when it
    changes token lifetimes) while the refresh token still works. The caller refreshes once and
    retries once (`ConnectionService.call`); only a refused refresh (`AuthRevoked`) means reconnect.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status=401)


class RateLimited(UpstreamError):
    """Upstream (or our own budget) says not now; `retry_after` is how many seconds to stay away."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(UpstreamError):
    """Upstream is down, overloaded or unreachable, and a few quick retries did not help."""


class BadResponse(UpstreamError):
    """Upstream answered something we cannot use: malformed JSON, an HTML page, an unexpected status."""
