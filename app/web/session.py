"""Browser state for the web app: the signed-in session, the sign-in attempt and the one-time flash
that confirms an action, as sealed cookies.

Why cookies sealed with the Vault instead of a sessions table: the web app is a few pages for a few
people, and a self-hoster running several instances should not need shared session storage. The
Vault already holds rotatable keys, so rotating `AIRDATE_SECRET_KEYS` also rotates cookies, and
nothing new has to be configured.

Why each cookie names its purpose: both are sealed with the same keys, so without it a sign-in cookie
could be replayed as a session cookie. Why lifetimes are checked here against the injected clock and
not left to the cookie's Max-Age: the browser's expiry is advice, a copied cookie has none.

No Trakt token ever goes into a cookie: the session carries only the user id, the stamp of the account
it was issued for (`Accounts.account_stamp`, checked on every request by `routes.web.current_session`,
since a user id alone can come back as someone else's) and its CSRF token.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from app.store.secrets import DecryptError, Vault

SESSION_COOKIE = "airdate_session"
LOGIN_COOKIE = "airdate_login"
FLASH_COOKIE = "airdate_flash"
SESSION_LIFETIME = timedelta(days=30)
LOGIN_LIFETIME = timedelta(minutes=10)  # long enough to sign in to Trakt, short enough to be useless later
LOGIN_COOKIE_PATH = "/auth"  # only the callback needs it
FLASH_LIFETIME = timedelta(minutes=5)  # from a redirect to the page it lands on
CSRF_FIELD = "csrf"
CLOCK_SKEW = timedelta(minutes=1)

Purpose = Literal["session", "login", "flash"]


@dataclass(frozen=True, slots=True)
class WebSession:
    user_id: int
    account: str  # the account's stamp when the session began
    csrf: str = field(repr=False)
    issued_at: datetime

    def csrf_matches(self, submitted: str | None) -> bool:
        return submitted is not None and same_secret(self.csrf, submitted)


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison, so a secret cannot be guessed byte by byte from response times.

    On the UTF-8 bytes because `compare_digest` raises on text that is not ASCII, and `given` comes
    from a URL or form anyone can craft: it must be refused like any other wrong value.
    """
    return secrets.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One authorization-code sign-in in flight: the state to expect back and the PKCE verifier."""

    state: str = field(repr=False)
    verifier: str = field(repr=False)
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class Flash:
    """What an action did, for the page its redirect lands on: a notice key and the feed it concerns."""

    notice: str
    feed_id: int | None = None
    name: str = ""


class WebCookies:
    """Seals, opens, sets and clears the cookies; `secure` when the public URL is https.

    Why a flash cookie besides the session and sign-in ones: every action answers with a redirect
    (post/redirect/get), and the page it lands on must say what happened exactly once; a `?notice=`
    in the URL said it again on every reload.
    """

    def __init__(self, vault: Vault, clock: Callable[[], datetime], *, secure: bool) -> None:
        self._vault = vault
        self._clock = clock
        self._secure = secure

    # -- the signed-in session ----------------------------------------------------------------

    def new_session(self, user_id: int, account: str) -> WebSession:
        """A fresh session (and CSRF token) at every sign-in, so a planted cookie is never upgraded."""
        return WebSession(
            user_id=user_id, account=account, csrf=secrets.token_urlsafe(32), issued_at=self._clock()
        )

    def session(self, request: Request) -> WebSession | None:
        """The session as sealed; whether its account still exists is `routes.web.current_session`'s."""
        data = self._open(request.cookies.get(SESSION_COOKIE), "session", SESSION_LIFETIME)
        if data is None:
            return None
        user_id, account, csrf = data.get("user_id"), data.get("account"), data.get("csrf")
        if not isinstance(user_id, int) or not isinstance(account, str) or not isinstance(csrf, str):
            return None
        return WebSession(user_id=user_id, account=account, csrf=csrf, issued_at=_issued_at(data))

    def set_session(self, response: Response, session: WebSession) -> None:
        payload = {"user_id": session.user_id, "account": session.account, "csrf": session.csrf}
        sealed = self._seal("session", session.issued_at, payload)
        self._set(response, SESSION_COOKIE, sealed, SESSION_LIFETIME, "/")

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self._secure, httponly=True, samesite="lax")

    # -- the sign-in attempt ------------------------------------------------------------------

    def new_login(self, state: str, verifier: str) -> LoginAttempt:
        return LoginAttempt(state=state, verifier=verifier, issued_at=self._clock())

    def login(self, request: Request) -> LoginAttempt | None:
        data = self._open(request.cookies.get(LOGIN_COOKIE), "login", LOGIN_LIFETIME)
        if data is None:
            return None
        state, verifier = data.get("state"), data.get("verifier")
        if not isinstance(state, str) or not isinstance(verifier, str):
            return None
        return LoginAttempt(state=state, verifier=verifier, issued_at=_issued_at(data))

    def set_login(self, response: Response, attempt: LoginAttempt) -> None:
        sealed = self._seal(
            "login", attempt.issued_at, {"state": attempt.state, "verifier": attempt.verifier}
        )
        self._set(response, LOGIN_COOKIE, sealed, LOGIN_LIFETIME, LOGIN_COOKIE_PATH)

    def clear_login(self, response: Response) -> None:
        response.delete_cookie(
            LOGIN_COOKIE, path=LOGIN_COOKIE_PATH, secure=self._secure, httponly=True, samesite="lax"
        )

    # -- the one-time confirmation ------------------------------------------------------------

    def set_flash(self, response: Response, flash: Flash) -> None:
        sealed = self._seal(
            "flash", self._clock(), {"notice": flash.notice, "feed_id": flash.feed_id, "name": flash.name}
        )
        self._set(response, FLASH_COOKIE, sealed, FLASH_LIFETIME, "/")

    def flash(self, request: Request) -> Flash | None:
        """The confirmation a redirect left for this page; the page must `clear_flash` as it shows it."""
        data = self._open(request.cookies.get(FLASH_COOKIE), "flash", FLASH_LIFETIME)
        if data is None:
            return None
        notice, feed_id, name = data.get("notice"), data.get("feed_id"), data.get("name")
        if not isinstance(notice, str) or not isinstance(name, str):
            return None
        return Flash(notice, feed_id if isinstance(feed_id, int) else None, name)

    def clear_flash(self, response: Response) -> None:
        response.delete_cookie(FLASH_COOKIE, path="/", secure=self._secure, httponly=True, samesite="lax")

    # -- plumbing -----------------------------------------------------------------------------

    def _set(self, response: Response, name: str, value: str, lifetime: timedelta, path: str) -> None:
        # SameSite=Lax, not Strict: Trakt's redirect back to the callback is a cross-site navigation
        # and must carry the sign-in cookie; Lax still keeps the cookies off cross-site POSTs.
        response.set_cookie(
            name,
            value,
            max_age=int(lifetime.total_seconds()),
            path=path,
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )

    def _seal(self, purpose: Purpose, issued_at: datetime, payload: dict[str, Any]) -> str:
        document = {"purpose": purpose, "issued_at": issued_at.timestamp(), **payload}
        return self._vault.encrypt(json.dumps(document, separators=(",", ":")))

    def _open(self, raw: str | None, purpose: Purpose, lifetime: timedelta) -> dict[str, Any] | None:
        """The cookie's payload, or None for absent, forged, foreign-purpose or expired cookies."""
        if not raw:
            return None
        try:
            data = json.loads(self._vault.decrypt(raw))
        except (DecryptError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("purpose") != purpose:
            return None
        issued = data.get("issued_at")
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            return None
        age = self._clock().timestamp() - issued
        # Instances behind a load balancer disagree by a little; a cookie from further in the future
        # than that (a clock set back, a forgery) is as suspect as an old one.
        if not -CLOCK_SKEW.total_seconds() <= age <= lifetime.total_seconds():
            return None
        return data


def _issued_at(data: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(data["issued_at"]), UTC)
