"""What every page of the web app shares: services, cookies, rendering with safe headers, form posts.

Why a module of its own: the landing page, the dashboard, the feed forms, the account pages and the
sign-in routes all need these, and none of them should import another page's module to get them.

Feed URLs are secrets: they appear only on pages for their signed-in owner, and those pages are sent
with `Cache-Control: no-store` and a referrer policy that keeps them off other sites.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from app.core.errors import UserOrFeedNotFound
from app.services.container import Services
from app.store.tables import MAX_ROW_ID
from app.web.session import CSRF_FIELD, SESSION_COOKIE, Flash, WebCookies, WebSession

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

MAX_FORM_BYTES = 16 * 1024  # our largest form is a few hundred bytes


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def cookies_of(request: Request) -> WebCookies:
    services = services_of(request)
    secure = services.settings.public_url.startswith("https://")
    return WebCookies(services.vault, services.clock, secure=secure)


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    session: WebSession | None = None,
    status: int = 200,
) -> Response:
    """A rendered page with the headers every page needs (secrets inside: never cached or framed)."""
    response = templates.TemplateResponse(
        request,
        template,
        {"session": session, "csrf_field": CSRF_FIELD, **(context or {})},
        status_code=status,
    )
    image_origin = _origin(services_of(request).settings.tmdb_image_url)
    response.headers.update(
        {
            "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; "
            f"img-src 'self' {image_origin}; frame-ancestors 'none'; base-uri 'none'",
        }
    )
    return response


def error_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    retry: str | None = None,
    session: WebSession | None = None,
) -> Response:
    """A page that says what happened and what to do next; `retry` links to where to try again."""
    return page(
        request,
        "error.html",
        {"title": title, "message": message, "retry": retry},
        session=session,
        status=status,
    )


def row_id(text: str | None) -> int | None:
    """The row id a URL names, or None when no row can have it, so the caller answers as for a miss.

    Why not `isdigit()` and `int()`: "²" is a digit that int() refuses and "١" one it reads as 1; and
    a number past the id columns' range is an OverflowError on SQLite and an error on PostgreSQL, not
    a miss.
    """
    if not text or len(text) > len(str(MAX_ROW_ID)) or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ROW_ID else None


def redirect_with(request: Request, url: str, flash: Flash) -> Response:
    """The answer to a successful action: go to `url`, where the flash says once what was done."""
    response = RedirectResponse(url, status_code=303)
    cookies_of(request).set_flash(response, flash)
    return response


async def current_session(request: Request) -> WebSession | None:
    """The session the cookie holds, if the account it was issued for still exists; the one place
    every page and form asks.

    Why the database is asked and the seal is not enough: the cookie outlives its account when the
    person deletes their data from another device or the operator runs `airdate users delete`, and
    SQLite hands a deleted user's id to the next sign-up. The account's stamp tells the accounts apart.
    """
    session = cookies_of(request).session(request)
    if session is None:
        return None
    try:
        account = await services_of(request).accounts.account_stamp(session.user_id)
    except UserOrFeedNotFound:
        return None
    return session if account == session.account else None


def signed_out(request: Request) -> Response:
    """A visitor's answer on a page that needs a session: the landing page, without a stale cookie."""
    response = RedirectResponse("/", status_code=303)
    if SESSION_COOKIE in request.cookies:
        cookies_of(request).clear_session(response)
    return response


async def signed_in(request: Request) -> WebSession | Response:
    """The signed-in session, or the redirect to the landing page for a visitor."""
    session = await current_session(request)
    return signed_out(request) if session is None else session


async def signed_in_form(request: Request) -> tuple[WebSession, FormData] | Response:
    """The form of a POST from the signed-in user with their CSRF token; else the answer to send."""
    session = await current_session(request)
    if session is None:
        return signed_out(request)
    form = await _urlencoded_form(request)
    submitted = form.get(CSRF_FIELD)
    if not session.csrf_matches(submitted if isinstance(submitted, str) else None):
        return error_page(
            request,
            403,
            "This form has expired",
            "The form was not sent from your Airdate page (or it is from an earlier sign-in), so "
            "nothing was changed. Go back to your dashboard and try again.",
            retry="/dashboard",
            session=session,
        )
    return session, form


async def _urlencoded_form(request: Request) -> FormData:
    """The body of an HTML form post; anything else (multipart, JSON, oversized) reads as empty.

    Parsed here rather than with `request.form()` because that needs python-multipart, a whole
    dependency for the one encoding our own forms use; an empty form fails the CSRF check.
    """
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return FormData()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return FormData()
    fields: list[tuple[str, str | UploadFile]] = [
        *parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    ]
    return FormData(fields)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
