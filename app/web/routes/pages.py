"""The landing page and the dashboard: one feed open at a time, what is coming, how to subscribe.

Why server-rendered HTML with forms and redirects: the people setting this up want a feed URL in
their calendar within minutes, on any browser, with or without JavaScript; the only script copies a
URL to the clipboard. The open feed is chosen by a plain link (`?feed=`), so switching feeds works
without script too, and the page stays short however many feeds there are: the others are one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.core.errors import UserOrFeedNotFound
from app.domain.options import FeedOptions
from app.feeds.service import CalendarUnavailable
from app.services.container import Services
from app.store.accounts import FeedInfo
from app.store.tables import ConnectionStatus
from app.store.trakt_health import served_since
from app.web.routes import account, feed_forms
from app.web.routes.feed_forms import SOURCE_LABELS
from app.web.routes.web import (
    cookies_of,
    current_session,
    page,
    row_id,
    services_of,
    signed_in,
    signed_out,
)
from app.web.session import Flash
from app.web.subscribe import Subscribe, subscribe
from app.web.trakt_health import check_grant
from app.web.upcoming import SHOWN, Upcoming, day_label, upcoming

NOTICES = {
    "created": "“{name}” is ready. Subscribe to it with one of the buttons below.",
    "saved": "Saved “{name}”. Calendar apps pick up the change at their next refresh.",
    "rotated": "“{name}” has a new URL and the old one no longer works. Subscribe again with the new "
    "URL below, then remove the old subscription from your calendar app.",
    "revoked": "“{name}” is revoked: its URL no longer works. Remove the subscription from your "
    "calendar app too.",
    "deleted": "Your Trakt connection is removed and everything Airdate stored about you is deleted. "
    "Your feed URLs now answer “not found”; remove the subscriptions from your calendar apps.",
    "deleted_unrevoked": "Everything Airdate stored about you is deleted and your feed URLs now answer "
    "“not found”. Trakt could not be reached to end Airdate's access, so remove Airdate under Connected "
    "apps in your Trakt settings.",
}
UPCOMING_PROBLEM = (
    "Trakt can't be reached right now, so upcoming items can't be shown here. Your feed URL keeps "
    "working and will catch up once Trakt is back."
)


def notice_text(flash: Flash) -> str | None:
    template = NOTICES.get(flash.notice)
    return None if template is None else template.format(name=flash.name)


async def landing(request: Request) -> Response:
    cookies = cookies_of(request)
    if await current_session(request) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    flash = cookies.flash(request)
    response = page(request, "landing.html", {"notice": flash and notice_text(flash)})
    if flash is not None:
        cookies.clear_flash(response)
    return response


@dataclass(frozen=True, slots=True)
class FeedLine:
    """A feed that is not open: one line in the switcher."""

    id: int
    name: str
    summary: str
    selected: bool


@dataclass(frozen=True, slots=True)
class FeedPanel:
    """The open feed, everything the page shows about it."""

    feed: FeedInfo
    summary: Sequence[str]
    links: Subscribe
    upcoming: Upcoming | None
    upcoming_problem: str | None
    showing_all: bool


async def dashboard(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    cookies = cookies_of(request)
    services = services_of(request)
    try:
        user = await services.accounts.get_user(session.user_id)
    except UserOrFeedNotFound:  # the account was deleted a moment ago, since its session was checked
        return signed_out(request)
    feeds = await services.accounts.list_feeds(session.user_id)
    flash = cookies.flash(request)
    selected = _selected(feeds, request.query_params.get("feed"), flash)
    panel = None
    if selected is not None:
        panel = await _panel(services, selected, user.timezone, request.query_params.get("all") == "1")
    await check_grant(services, session.user_id)
    status = await services.connections.status(session.user_id)
    since = await served_since(services.sessions, session.user_id)
    notice = flash and notice_text(flash)
    response = page(
        request,
        "dashboard.html",
        {
            "username": user.username,
            "reconnect": status != ConnectionStatus.OK,
            "trouble": since and trouble_text(since, ZoneInfo(user.timezone), services.clock()),
            "lines": [
                FeedLine(f.id, f.name, " · ".join(describe(f.options, user.timezone)[:2]), f is selected)
                for f in feeds
            ],
            "panel": panel,
            "feed_notice": notice if flash and panel and flash.feed_id == panel.feed.id else None,
            "page_notice": notice if flash and not (panel and flash.feed_id == panel.feed.id) else None,
        },
        session=session,
    )
    if flash is not None:
        cookies.clear_flash(response)
    return response


def trouble_text(since: datetime, zone: ZoneInfo, now: datetime) -> str:
    """The quiet note for an outage: feeds still serve, but only what was fetched at `since`."""
    local = since.astimezone(zone)
    day = day_label(local.date(), now.astimezone(zone).date())
    when = f"{local:%H:%M}" if day == "Today" else f"{local:%H:%M} on {day}"
    return f"Trakt is having trouble; your calendars show what we had at {when}."


def _selected(feeds: Sequence[FeedInfo], asked: str | None, flash: Flash | None) -> FeedInfo | None:
    """The feed to open: the one the link names, else the one just acted on, else the first."""
    wanted = row_id(asked) or (flash.feed_id if flash else None)
    return next((feed for feed in feeds if feed.id == wanted), feeds[0] if feeds else None)


async def _panel(services: Services, feed: FeedInfo, user_tz: str, show_all: bool) -> FeedPanel:
    context = await services.feeds.lookup(feed.token)
    zone = ZoneInfo(feed.options.tz or user_tz)
    coming: Upcoming | None = None
    problem = None
    if context is not None:  # None: revoked or rotated between the listing and now
        try:
            rendered = await services.feeds.render(context, feed.options)
        except CalendarUnavailable:  # upstream failures end here: the calendar serves its cache instead
            problem = UPCOMING_PROBLEM
        else:
            coming = upcoming(
                rendered.entries,
                rendered.posters,
                rendered.options,
                feed_id=feed.id,
                tz=zone,
                now=services.clock(),
                limit=None if show_all else SHOWN,
            )
    return FeedPanel(
        feed=feed,
        summary=describe(feed.options, user_tz),
        links=subscribe(services.accounts.feed_url(feed.token), feed.name),
        upcoming=coming,
        upcoming_problem=problem,
        showing_all=show_all,
    )


def describe(options: FeedOptions, user_tz: str) -> list[str]:
    """The feed's options as short phrases a person reads at a glance."""
    zone = f"times in {options.tz}" if options.tz else f"times in your Trakt time zone ({user_tz})"
    return [
        ", ".join(SOURCE_LABELS[name] for name in options.sources),
        f"from {options.past_days} days ago to {options.future_days} days ahead",
        "episodes as all-day events" if options.all_day else "episodes at their air time",
        f"reminder {options.alarm} minutes before" if options.alarm is not None else "no reminder",
        "same-day drops grouped" if options.group else "one event per episode",
        "specials included" if options.specials else "no specials",
        "watched episodes hidden" if options.hide_watched else "watched episodes shown",
        zone,
    ]


routes: list[BaseRoute] = [
    Route("/", landing, methods=["GET"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    *feed_forms.routes,
    *account.routes,
]
