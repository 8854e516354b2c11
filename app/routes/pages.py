"""The web app's pages: landing, the dashboard (subscribe, preview, manage feeds) and the feed forms.

Why server-rendered HTML with forms and redirects: the people setting this up want a feed URL in
their calendar within minutes, on any browser, with or without JavaScript; the only script copies a
URL to the clipboard. Every state change is a POST carrying the session's CSRF token and answers with
a redirect, so reloading a page never repeats an action.

Feed URLs are secrets: they appear only on pages for their signed-in owner, and those pages are sent
with `Cache-Control: no-store` and a referrer policy that keeps them off other sites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from app.accounts import FeedInfo, NotFound
from app.connections import STATUS_OK
from app.container import Services
from app.entries import Entry, Episode
from app.feeds import CalendarUnavailable, FeedContext, RenderedFeed
from app.options import FeedOptions, OptionError, parse_options, zone_names
from app.sources import SOURCES
from app.upstream import UpstreamError
from app.web_session import CSRF_FIELD, WebCookies, WebSession

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

POSTER_COUNT = 12
NEW_FEED_NAME = "New feed"
MAX_NAME_LENGTH = 200  # the feeds.name column
MAX_FORM_BYTES = 16 * 1024  # our largest form is a few hundred bytes
FLAG_OPTIONS = ("all_day", "group", "specials", "hide_watched")

SOURCE_LABELS: Mapping[str, str] = {
    "shows": "Episodes of shows you watch",
    "premieres": "Season premieres",
    "new": "New shows",
    "finales": "Season finales",
    "movies": "Movies in cinemas",
    "streaming": "Movies on streaming and digital",
    "dvd": "Movies on disc",
}
RELEASE_LABELS: Mapping[str, str] = {
    "theatrical": "In cinemas",
    "digital": "Streaming & digital",
    "dvd": "On disc",
}
NOTICES: Mapping[str, str] = {
    "created": "New feed created. Give it a name and options, then subscribe to it.",
    "saved": "Saved. Calendar apps pick up the change at their next refresh.",
    "rotated": "The feed has a new URL; the old one no longer works. Subscribe again with the new one.",
    "revoked": "The feed is revoked; its URL no longer works.",
}


# -- shared by the auth routes --------------------------------------------------------------------


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


async def signed_in_form(request: Request) -> tuple[WebSession, FormData] | Response:
    """The form of a POST from the signed-in user with their CSRF token; else the answer to send."""
    session = cookies_of(request).session(request)
    if session is None:
        return RedirectResponse("/", status_code=303)
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


# -- landing and dashboard ------------------------------------------------------------------------


async def landing(request: Request) -> Response:
    if cookies_of(request).session(request) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return page(request, "landing.html")


@dataclass(frozen=True, slots=True)
class SubscribeLinks:
    https: str
    webcal: str
    google: str
    outlook: str
    download: str

    @classmethod
    def for_feed(cls, url: str, name: str) -> SubscribeLinks:
        webcal = "webcal://" + url.split("://", 1)[1]
        return cls(
            https=url,
            webcal=webcal,
            # The 2026 reports say Google's cid= accepts https and shows webcal as an empty calendar.
            google="https://calendar.google.com/calendar/render?" + urlencode({"cid": url}),
            outlook="https://outlook.live.com/calendar/0/addfromweb?"
            + urlencode({"url": url, "name": name}, quote_via=quote),
            download=url + "?download=1",
        )


@dataclass(frozen=True, slots=True)
class PosterItem:
    title: str
    detail: str
    when: str
    when_iso: str
    image: str | None


@dataclass(frozen=True, slots=True)
class FeedCard:
    feed: FeedInfo
    summary: Sequence[str]
    links: SubscribeLinks
    posters: Sequence[PosterItem]
    posters_problem: str | None


async def dashboard(request: Request) -> Response:
    session = cookies_of(request).session(request)
    if session is None:
        return RedirectResponse("/", status_code=303)
    services = services_of(request)
    try:
        user = await services.accounts.get_user(session.user_id)
    except NotFound:  # the account was deleted since the session began
        response = RedirectResponse("/", status_code=303)
        cookies_of(request).clear_session(response)
        return response
    cards: list[FeedCard] = []
    for feed in await services.accounts.list_feeds(session.user_id):
        context = await services.feeds.lookup(feed.token)
        if context is None:  # revoked or rotated between the listing and now
            continue
        cards.append(await _card(services, feed, context))
    status = await services.connections.status(session.user_id)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return page(
        request,
        "dashboard.html",
        {"cards": cards, "username": user.username, "reconnect": status != STATUS_OK, "notice": notice},
        session=session,
    )


async def _card(services: Services, feed: FeedInfo, context: FeedContext) -> FeedCard:
    url = services.accounts.feed_url(feed.token)
    zone = feed.options.tz or context.user_tz
    posters: list[PosterItem] = []
    problem = None
    try:
        rendered = await services.feeds.render(context, feed.options)
    except (CalendarUnavailable, UpstreamError):
        problem = (
            "Trakt can't be reached right now, so upcoming items can't be shown here. Your feed URL "
            "keeps working and will catch up once Trakt is back."
        )
    else:
        posters = _upcoming(rendered, ZoneInfo(zone), services.clock())
    return FeedCard(
        feed=feed,
        summary=describe(feed.options, context.user_tz),
        links=SubscribeLinks.for_feed(url, feed.name),
        posters=posters,
        posters_problem=problem,
    )


def _upcoming(rendered: RenderedFeed, zone: ZoneInfo, now: datetime) -> list[PosterItem]:
    today = now.astimezone(zone).date()
    items: list[PosterItem] = []
    for entry in rendered.entries:
        if len(items) == POSTER_COUNT:
            break
        if isinstance(entry, Episode):
            if entry.first_aired < now:
                continue
        elif entry.date < today:
            continue
        items.append(_poster_item(entry, rendered, zone))
    return items


def _poster_item(entry: Entry, rendered: RenderedFeed, zone: ZoneInfo) -> PosterItem:
    if isinstance(entry, Episode):
        local = entry.first_aired.astimezone(zone)
        number = f"S{entry.season:02d}E{entry.number:02d}"
        return PosterItem(
            title=entry.show.title,
            detail=f"{number} · {entry.title}" if entry.title else number,
            when=f"{local:%a} {local.day} {local:%b · %H:%M}",
            when_iso=local.isoformat(),
            image=rendered.posters.get(("show", entry.show.trakt_id)),
        )
    return PosterItem(
        title=entry.movie.title,
        detail=RELEASE_LABELS[entry.kind],
        when=f"{entry.date:%a} {entry.date.day} {entry.date:%b}",
        when_iso=entry.date.isoformat(),
        image=rendered.posters.get(("movie", entry.movie.trakt_id)),
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


# -- managing feeds -------------------------------------------------------------------------------


async def new_feed(request: Request) -> Response:
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    feed = await services_of(request).accounts.create_feed(session.user_id, NEW_FEED_NAME)
    return RedirectResponse(f"/dashboard/feeds/{feed.id}/edit?notice=created", status_code=303)


@dataclass(frozen=True, slots=True)
class FeedForm:
    """What the edit form shows: text exactly as typed, so a rejected value can be corrected in place."""

    name: str
    sources: Sequence[str]
    past_days: str
    future_days: str
    alarm: str
    tz: str
    flags: Mapping[str, bool]

    @classmethod
    def of(cls, feed: FeedInfo) -> FeedForm:
        options = feed.options
        return cls(
            name=feed.name,
            sources=options.sources,
            past_days=str(options.past_days),
            future_days=str(options.future_days),
            alarm="" if options.alarm is None else str(options.alarm),
            tz=options.tz or "",
            flags={flag: bool(getattr(options, flag)) for flag in FLAG_OPTIONS},
        )

    @classmethod
    def submitted(cls, form: FormData) -> FeedForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            name=text("name"),
            sources=[value for value in form.getlist("sources") if isinstance(value, str)],
            past_days=text("past_days"),
            future_days=text("future_days"),
            alarm=text("alarm"),
            tz=text("tz"),
            # An unticked checkbox sends nothing, so absence means "no" for every flag.
            flags={flag: flag in form for flag in FLAG_OPTIONS},
        )

    def option_values(self) -> dict[str, str]:
        """The same names and textual values a feed URL's query uses, for the one options parser."""
        values = {
            "sources": ",".join(self.sources),
            "past_days": self.past_days,
            "future_days": self.future_days,
            "alarm": self.alarm,
            "tz": self.tz,
        }
        values.update({flag: "true" if on else "false" for flag, on in self.flags.items()})
        return values

    def validate(self) -> tuple[FeedOptions | None, dict[str, str]]:
        """The options, or the problem with each field; each field alone so all errors show at once."""
        errors: dict[str, str] = {}
        if not self.name:
            errors["name"] = "give the feed a name"
        elif len(self.name) > MAX_NAME_LENGTH:
            errors["name"] = f"at most {MAX_NAME_LENGTH} characters"
        if not self.sources:  # the parser would list source names; the form shows their labels
            errors["sources"] = "choose at least one"
        for name, raw in self.option_values().items():
            if name in errors:
                continue
            try:
                parse_options({name: raw})
            except OptionError as error:
                errors[error.option] = str(error).removeprefix(f"{error.option}: ")
        if errors:
            return None, errors
        return parse_options(self.option_values()), {}


async def edit_feed(request: Request) -> Response:
    owned = await _owned_feed(request)
    if isinstance(owned, Response):
        return owned
    session, feed = owned
    if request.method == "GET":
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return _edit_page(request, session, feed, FeedForm.of(feed), {}, notice=notice)
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    form = FeedForm.submitted(checked[1])
    options, errors = form.validate()
    if options is None:
        return _edit_page(request, session, feed, form, errors, status=400)
    await services_of(request).accounts.update_feed(feed.id, name=form.name, options=options)
    return RedirectResponse(f"/dashboard?notice=saved#feed-{feed.id}", status_code=303)


def _edit_page(
    request: Request,
    session: WebSession,
    feed: FeedInfo,
    form: FeedForm,
    errors: Mapping[str, str],
    *,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    return page(
        request,
        "edit.html",
        {
            "feed": feed,
            "form": form,
            "errors": errors,
            "notice": notice,
            "source_labels": SOURCE_LABELS,
            "sources": list(SOURCES),
            "zones": _zones(),
        },
        session=session,
        status=status,
    )


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A destructive action asks first on a page of its own, so it works without JavaScript."""

    title: str
    explanation: str
    button: str
    notice: str


CONFIRMATIONS: Mapping[str, Confirmation] = {
    "rotate": Confirmation(
        title="Rotate this feed's URL?",
        explanation="The feed gets a new secret URL and the current one stops working at once. Every "
        "calendar subscribed with the old URL stops updating until you subscribe again with the new "
        "one. Do this if the URL was shared with someone it should not have been.",
        button="Rotate URL",
        notice="rotated",
    ),
    "revoke": Confirmation(
        title="Revoke this feed?",
        explanation="The feed's URL stops working at once and the feed disappears from your dashboard. "
        "Calendars subscribed to it stop updating; remove the subscription there too.",
        button="Revoke feed",
        notice="revoked",
    ),
}


async def confirm_action(request: Request, action: str) -> Response:
    confirmation = CONFIRMATIONS[action]
    owned = await _owned_feed(request)
    if isinstance(owned, Response):
        return owned
    session, feed = owned
    if request.method == "GET":
        return page(
            request,
            "confirm.html",
            {"feed": feed, "confirmation": confirmation, "action": action},
            session=session,
        )
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    accounts = services_of(request).accounts
    if action == "rotate":
        await accounts.rotate_feed(feed.id)
        target = f"/dashboard?notice={confirmation.notice}#feed-{feed.id}"
    else:
        await accounts.revoke_feed(feed.id)
        target = f"/dashboard?notice={confirmation.notice}"
    return RedirectResponse(target, status_code=303)


async def _owned_feed(request: Request) -> tuple[WebSession, FeedInfo] | Response:
    """The signed-in user's live feed named in the path; someone else's feed is as unknown as none."""
    session = cookies_of(request).session(request)
    if session is None:
        return RedirectResponse("/", status_code=303)
    try:
        feed = await services_of(request).accounts.get_feed(request.path_params["feed_id"])
    except NotFound:
        feed = None
    if feed is None or feed.user_id != session.user_id or feed.revoked:
        return error_page(
            request, 404, "No such feed", "That feed does not exist or was revoked.",
            retry="/dashboard", session=session,
        )
    return session, feed


@cache
def _zones() -> list[str]:
    """IANA zone names for the time zone field's suggestions; the parser still has the last word."""
    return sorted(zone for zone in zone_names() if "/" in zone and not zone.startswith("Etc/"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


routes: list[BaseRoute] = [
    Route("/", landing, methods=["GET"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/dashboard/feeds", new_feed, methods=["POST"]),
    Route("/dashboard/feeds/{feed_id:int}/edit", edit_feed, methods=["GET", "POST"]),
    *(
        Route(f"/dashboard/feeds/{{feed_id:int}}/{action}", partial(confirm_action, action=action),
              methods=["GET", "POST"])
        for action in CONFIRMATIONS
    ),
]
