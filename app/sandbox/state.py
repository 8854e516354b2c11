"""Mutable sandbox state: users, tokens, codes, configuration, faults, the call log.

Kept apart from the HTTP handlers so the rules (single-use refresh tokens, expiry by the
sandbox clock, per-token rate windows) read in one place and tests can inspect them directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

DeviceOutcome = Literal["approve", "deny", "expire"]
RATE_LIMIT = 500
RATE_PERIOD = 300


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str
    status: int
    at: datetime
    user_agent: str | None
    user: str | None = None  # the slug of the bearer token's owner, so calls can be counted per user

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "at": self.at.isoformat(),
            "user_agent": self.user_agent,
            "user": self.user,
        }


FaultBody = Literal["malformed", "html", "deep", "object", "huge"]
REPLACING_BODIES = frozenset({"malformed", "html", "deep"})  # served instead of the real answer
RESHAPING_BODIES = frozenset({"object", "huge"})  # made from the real answer


@dataclass
class Fault:
    """A scripted misbehaviour for requests under `prefix` (see the control API).

    `user` (a slug) limits it to requests whose bearer token belongs to that user, as Trakt's
    per-user rate limits are; `retry_after_date` sends `Retry-After` as an HTTP date instead of
    seconds, which RFC 9110 allows and some proxies in front of Trakt do.
    `body`: "malformed" (truncated JSON), "html" (a Cloudflare page) and "deep" (valid JSON
    nested deeper than any decoder recurses) replace the answer;
    "object" wraps a JSON list answer in an object (a wrong top-level shape) and "huge" appends
    one junk item padded to 10 MB. `inject` puts the given items before a list answer's own.
    `answer` is a JSON value served as the whole answer (status 200 unless `status` says
    otherwise), for shapes no real answer has. `hang` holds the request unanswered until the
    client gives up or the faults are cleared (then it answers `status`, default 503).
    `trickle_ms` sends the answer (real or scripted) a few bytes at a time, that long apart: a slow
    link on which no single read waits long, so only a deadline on the whole call cuts it short.
    `seconds` ends the fault that long after it was added, by the sandbox clock, so an outage
    can last "6 hours" of simulated time.
    """

    prefix: str
    status: int | None = None
    delay_ms: int = 0
    trickle_ms: int = 0
    body: FaultBody | None = None
    retry_after: int | None = None
    times: int | None = None
    user: str | None = None
    retry_after_date: bool = False
    inject: list[Any] | None = None
    answer: Any = None
    hang: bool = False
    seconds: int | None = None
    added_at: datetime | None = None  # set by the sandbox, not by the spec


@dataclass
class Config:
    access_token_ttl: int = 604800
    device_interval: int = 1
    device_outcome: DeviceOutcome = "approve"
    enforce_interval: bool = False
    enforce_rate_limit: bool = True
    next_user: dict[str, str] | None = None


@dataclass(frozen=True)
class User:
    slug: str
    username: str
    timezone: str

    @property
    def uuid(self) -> str:
        return hashlib.sha1(self.slug.encode()).hexdigest()


DEFAULT_USER = User(slug="demo", username="Demo", timezone="America/New_York")


@dataclass
class Token:
    access_token: str
    refresh_token: str
    user: User
    created_at: int
    expires_in: int
    valid: bool = True
    access_valid: bool = True  # False once the access token alone was invalidated; refresh still works

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": "public",
            "created_at": self.created_at,
        }


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    created_at: datetime
    polls: int = 0
    last_poll: datetime | None = None
    used: bool = False


@dataclass(frozen=True)
class AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    user: User


@dataclass(frozen=True)
class Spend:
    """One refresh token spent: when (sandbox clock) and for whom, so tests can time what follows."""

    slug: str
    at: datetime
    spent: str = field(repr=False)  # the refresh token used up
    issued: str = field(repr=False)  # the one issued in its place

    def as_json(self) -> dict[str, Any]:
        """Tokens as SHA-256 hex only: enough to match a stored token, nothing to replay."""
        return {
            "slug": self.slug,
            "at": self.at.isoformat(),
            "spent_sha256": hashlib.sha256(self.spent.encode()).hexdigest(),
            "issued_sha256": hashlib.sha256(self.issued.encode()).hexdigest(),
        }


@dataclass
class RateWindow:
    started: datetime
    count: int = 0


@dataclass
class AuthState:
    """Everything an OAuth exchange can create or invalidate."""

    users: dict[str, User] = field(default_factory=lambda: {"demo": DEFAULT_USER})
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_index: dict[str, Token] = field(default_factory=dict)
    device_codes: dict[str, DeviceCode] = field(default_factory=dict)
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    refreshes: dict[str, int] = field(default_factory=dict)
    spends: list[Spend] = field(default_factory=list)
    # Set (and replaced) at every spend, so the control API can answer a waiting test at once.
    spent_signal: asyncio.Event = field(default_factory=asyncio.Event)
    windows: dict[str, RateWindow] = field(default_factory=dict)

    def claim_user(self, config: Config) -> User:
        """The user an approval belongs to: `next_user` once, then back to the default user."""
        wanted = config.next_user
        config.next_user = None
        if not wanted:
            return DEFAULT_USER
        user = User(
            slug=wanted["slug"],
            username=wanted.get("username", wanted["slug"]),
            timezone=wanted.get("timezone", DEFAULT_USER.timezone),
        )
        self.users[user.slug] = user
        return user

    def issue(self, user: User, now: datetime, ttl: int) -> Token:
        token = Token(
            access_token=secrets.token_hex(32),
            refresh_token=secrets.token_hex(32),
            user=user,
            created_at=int(now.timestamp()),
            expires_in=ttl,
        )
        self.tokens[token.access_token] = token
        self.refresh_index[token.refresh_token] = token
        return token

    def refresh(self, refresh_token: str, now: datetime, ttl: int) -> Token | None:
        """Rotate a refresh token; it is single-use, as Trakt's auth stack is since 2026-07.

        The old access token stays valid until it expires, so requests in flight during a
        refresh still succeed, as they do against Trakt.
        """
        old = self.refresh_index.pop(refresh_token, None)
        if old is None or not old.valid:
            return None
        self.refreshes[old.user.slug] = self.refreshes.get(old.user.slug, 0) + 1
        token = self.issue(old.user, now, ttl)
        self.spends.append(Spend(old.user.slug, now, refresh_token, token.refresh_token))
        self.spent_signal.set()
        self.spent_signal = asyncio.Event()
        return token

    def revoke(self, token: str) -> None:
        found = self.tokens.get(token) or self.refresh_index.get(token)
        if found is not None:
            found.valid = False
            self.refresh_index.pop(found.refresh_token, None)

    def revoke_user(self, slug: str) -> int:
        revoked = [t for t in self.tokens.values() if t.user.slug == slug and t.valid]
        for token in revoked:
            self.revoke(token.access_token)
        return len(revoked)

    def owner(self, authorization: str) -> User | None:
        """Whose token an `Authorization: Bearer` header carries (valid or not); None for no token."""
        scheme, _, value = authorization.partition(" ")
        found = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        return None if found is None else found.user

    def invalidate_access(self, slug: str) -> int:
        """End every live access token of a user before its expiry, keeping the refresh tokens.

        What Trakt does when it changes token lifetimes: API calls answer 401 until the client
        refreshes, and the refresh succeeds.
        """
        live = [t for t in self.tokens.values() if t.user.slug == slug and t.valid and t.access_valid]
        for token in live:
            token.access_valid = False
        return len(live)

    def bearer(self, token: str, now: datetime) -> Token | None:
        found = self.tokens.get(token)
        if found is None or not found.valid or not found.access_valid:
            return None
        if now.timestamp() >= found.created_at + found.expires_in:
            return None
        return found

    def spend(self, token: str, now: datetime) -> RateWindow | None:
        """Count one GET against the token's 5-minute window; return the window when exhausted."""
        window = self.windows.get(token)
        if window is None or now >= window.started + timedelta(seconds=RATE_PERIOD):
            window = self.windows[token] = RateWindow(started=now)
        if window.count >= RATE_LIMIT:
            return window
        window.count += 1
        return None
