""" "Disconnect Trakt and delete my data": a confirmation page, then everything of the person goes.

Why a page of its own before the POST: it cannot be undone, every calendar subscribed to the person's
feeds stops updating, and it must work without JavaScript. The deletion itself is
`Accounts.delete_user`, the same call `airdate users delete` makes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.core.errors import UserOrFeedNotFound
from app.web.routes.web import cookies_of, page, redirect_with, services_of, signed_in, signed_in_form
from app.web.session import Flash


async def confirm_delete(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    feeds = await services_of(request).accounts.list_feeds(session.user_id)
    return page(request, "delete.html", {"feeds": feeds}, session=session)


async def delete_account(request: Request) -> Response:
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    services = services_of(request)
    try:
        deletion = await services.accounts.delete_user(session.user_id, services.trakt.revoke)
    except UserOrFeedNotFound:  # a second click of the same button, sent before the first answer came back
        notice = "deleted"
    else:
        notice = "deleted" if deletion.revoked_at_trakt else "deleted_unrevoked"
    response = redirect_with(request, "/#notice", Flash(notice))
    cookies_of(request).clear_session(response)
    return response


routes: list[BaseRoute] = [
    Route("/dashboard/delete", confirm_delete, methods=["GET"]),
    Route("/dashboard/delete", delete_account, methods=["POST"]),
]
