"""The one error family: every failure a caller must tell apart, in one module (as `httpx._exceptions`).

Handlers should only ever decide "reconnect the user", "fix the configuration", "try later" or "serve
stale", so failures fold into the few classes below. Messages name the method, host and path only:
query strings and bodies may carry API keys, device codes or tokens.

The hierarchy:

* UpstreamError - a call to Trakt or TMDB did not give what was asked for
  + AppCredentialsRejected - this installation's own client id, secret or TMDB token: the operator's
  + AuthRevoked - Trakt refused a person's grant (a refresh or a code exchange): reconnect
  + TokenRejected - a 401 on an API call: refresh once and retry once, not a reason to reconnect
  + DeviceFlowError - a device sign-in ended without a token (denied, expired, ...)
  + RefreshBusy - another process is refreshing the token and ours is unusable meanwhile
  + RateLimited - not now; `retry_after` says how long
  + Unavailable - down, overloaded or unreachable
  + BadResponse - an answer we cannot use
  + TitleNotFound - TMDB does not know this id (a miss worth remembering)
* NeedsReconnect - the person must sign in with Trakt again (what the stored connection says)
* UserOrFeedNotFound - no such user or feed in the database

`NeedsReconnect` is not an `UpstreamError` on purpose: it is the verdict on a stored grant, reached
from the database as often as from Trakt, and the callers that catch `UpstreamError` ("serve stale",
"try later") must not swallow it.

Failures that only one module raises stay beside it: `ConfigError`, `OptionError`, `DecryptError`
and `CalendarUnavailable`.
"""

from __future__ import annotations

from typing import Literal


class UpstreamError(Exception):
    """Anything that went wrong talking to Trakt or TMDB; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AppCredentialsRejected(UpstreamError):
    """Trakt or TMDB refused this installation's credentials (a 401 on the client id or secret, or on the
    TMDB token): no person's sign-in can fix it, the operator must correct the configuration."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=401)


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


DeviceFlowReason = Literal["invalid_code", "already_used", "expired", "denied"]


class DeviceFlowError(UpstreamError):
    """A device sign-in ended without a token; `reason` says how, so the CLI can say what to do."""

    def __init__(self, reason: DeviceFlowReason) -> None:
        super().__init__(f"device sign-in failed: {reason.replace('_', ' ')}")
        self.reason: DeviceFlowReason = reason


class RefreshBusy(UpstreamError):
    """Another process holds the refresh lease (or held it and died) and our access token is unusable."""


class RateLimited(UpstreamError):
    """Upstream (or our own budget) says not now; `retry_after` is how many seconds to stay away."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(UpstreamError):
    """Upstream is down, overloaded or unreachable, and a few quick retries did not help."""


class BadResponse(UpstreamError):
    """Upstream answered something we cannot use: malformed JSON, an HTML page, an unexpected status."""


class TitleNotFound(UpstreamError):
    """TMDB does not know this id: a miss worth remembering, unlike an outage."""


class NeedsReconnect(Exception):
    """The user must sign in with Trakt again (grant revoked, or never made); carries no secret."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} must reconnect Trakt")
        self.user_id = user_id


class UserOrFeedNotFound(LookupError):
    """No such user or feed (the message names what was looked up, never a token)."""
