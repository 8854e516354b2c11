"""Sign in with Trakt (authorization code + PKCE on the auth host), and sign out.

Why PKCE and a state in a sealed, short-lived cookie: Trakt's auth stack refuses sign-ins without a
code challenge, and the state ties the callback to the browser that started it, so a code planted by
someone else (login CSRF) is refused before any token exchange. The verifier never leaves the
server unencrypted, and the Trakt tokens go straight into the encrypted connections table: the
browser only ever holds the user id, its account's stamp and a CSRF token.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.core.errors import UpstreamError
from app.services.signin import complete_sign_in
from app.upstream.trakt_auth import pkce_pair
from app.web.routes.web import cookies_of, error_page, services_of, signed_in_form
from app.web.session import same_secret

MAX_SHOWN_ERROR = 100  # the `error` Trakt sends back is shown, but the URL is anyone's to craft


async def login(request: Request) -> Response:
    services = services_of(request)
    cookies = cookies_of(request)
    verifier, challenge = pkce_pair()
    attempt = cookies.new_login(secrets.token_urlsafe(32), verifier)
    url = services.trakt.authorize_url(
        state=attempt.state, code_challenge=challenge, redirect_uri=services.trakt.redirect_uri
    )
    response = RedirectResponse(url, status_code=302)
    cookies.set_login(response, attempt)
    return response


async def callback(request: Request) -> Response:
    cookies = cookies_of(request)
    response = await _complete_sign_in(request)
    cookies.clear_login(response)  # one attempt, one callback: a replayed callback finds no state
    return response


async def _complete_sign_in(request: Request) -> Response:
    services = services_of(request)
    cookies = cookies_of(request)
    query = request.query_params
    if "error" in query:
        reason = query["error"][:MAX_SHOWN_ERROR]
        return error_page(
            request,
            400,
            "Trakt did not sign you in",
            f"Trakt answered “{reason}”. If you declined access, nothing was stored. You can try again.",
            retry="/auth/login",
        )
    attempt = cookies.login(request)
    state = query.get("state", "")
    if attempt is None or not state or not same_secret(attempt.state, state):
        return error_page(
            request,
            400,
            "This sign-in link is not valid",
            "The sign-in expired or was started in another browser or tab, so Airdate did not "
            "use it. Start again from this browser.",
            retry="/auth/login",
        )
    code = query.get("code")
    if not code:
        return error_page(
            request,
            400,
            "Trakt sent no sign-in code",
            "Nothing was stored. Please try again.",
            retry="/auth/login",
        )
    trakt = services.trakt
    try:
        tokens = await trakt.exchange_code(
            code=code, code_verifier=attempt.verifier, redirect_uri=trakt.redirect_uri
        )
        signed_in = await complete_sign_in(services, tokens)
    except UpstreamError:
        return error_page(
            request,
            502,
            "Trakt could not finish the sign-in",
            "Trakt did not answer as expected, so you are not signed in yet. This is usually "
            "temporary: please try again in a moment.",
            retry="/auth/login",
        )
    account = await services.accounts.account_stamp(signed_in.user_id)
    response = RedirectResponse("/dashboard", status_code=303)
    cookies.set_session(response, cookies.new_session(signed_in.user_id, account))
    return response


async def logout(request: Request) -> Response:
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    response = RedirectResponse("/", status_code=303)
    cookies_of(request).clear_session(response)
    return response


routes: list[BaseRoute] = [
    Route("/auth/login", login, methods=["GET"]),
    Route("/auth/callback", callback, methods=["GET"]),
    Route("/auth/logout", logout, methods=["POST"]),
]
