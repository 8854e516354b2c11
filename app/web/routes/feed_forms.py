"""Creating, editing, rotating and revoking feeds: forms that answer with a redirect and a one-time flash.

Why "New feed" is a form and not a button that creates one: a feed is a live secret URL, so nothing
should exist until the person has named it and saved. Every state change is a POST carrying the
session's CSRF token; a failed save shows the form again with what was typed, an error summary that
takes focus, and the message beside each field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.core.errors import UserOrFeedNotFound
from app.domain.options import FeedOptions, OptionError, parse_options, zone_names
from app.domain.sources import SOURCES
from app.store.accounts import FeedInfo
from app.web.routes.web import (
    error_page,
    page,
    redirect_with,
    row_id,
    services_of,
    signed_in,
    signed_in_form,
)
from app.web.session import Flash, WebSession

NEW_FEED_NAME = "New feed"
MAX_NAME_LENGTH = 200  # the feeds.name column
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
FIELD_LABELS: Mapping[str, str] = {  # how the error summary names each field
    "name": "Name",
    "sources": "What the feed shows",
    "past_days": "Days back",
    "future_days": "Days ahead",
    "alarm": "Reminder",
    "tz": "Time zone",
    "all_day": "All-day events",
    "group": "Group same-day drops",
    "specials": "Include specials",
    "hide_watched": "Hide watched episodes",
}


def feed_page(feed_id: int) -> str:
    """Where a feed's confirmations land: its panel open, scrolled to the notice."""
    return f"/dashboard?feed={feed_id}#notice"


@dataclass(frozen=True, slots=True)
class FeedForm:
    """What the form shows: text exactly as typed, so a rejected value can be corrected in place."""

    name: str
    sources: Sequence[str]
    past_days: str
    future_days: str
    alarm: str
    tz: str
    flags: Mapping[str, bool]

    @classmethod
    def of(cls, name: str, options: FeedOptions) -> FeedForm:
        return cls(
            name=name,
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


async def new_feed_form(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    return _form_page(request, session, None, FeedForm.of(NEW_FEED_NAME, FeedOptions()), {})


async def create_feed(request: Request) -> Response:
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    session, submitted = checked
    form = FeedForm.submitted(submitted)
    options, errors = form.validate()
    if options is None:
        return _form_page(request, session, None, form, errors, status=400)
    feed = await services_of(request).accounts.create_feed(session.user_id, form.name, options)
    return redirect_with(request, feed_page(feed.id), Flash("created", feed.id, feed.name))


async def edit_feed(request: Request) -> Response:
    owned = await _owned_feed(request)
    if isinstance(owned, Response):
        return owned
    session, feed = owned
    if request.method == "GET":
        return _form_page(request, session, feed, FeedForm.of(feed.name, feed.options), {})
    checked = await signed_in_form(request)
    if isinstance(checked, Response):
        return checked
    form = FeedForm.submitted(checked[1])
    options, errors = form.validate()
    if options is None:
        return _form_page(request, session, feed, form, errors, status=400)
    await services_of(request).accounts.update_feed(feed.id, name=form.name, options=options)
    return redirect_with(request, feed_page(feed.id), Flash("saved", feed.id, form.name))


def _form_page(
    request: Request,
    session: WebSession,
    feed: FeedInfo | None,
    form: FeedForm,
    errors: Mapping[str, str],
    *,
    status: int = 200,
) -> Response:
    """The feed form: editing `feed`, or a new feed (nothing stored yet) when `feed` is None."""
    return page(
        request,
        "edit.html",
        {
            "feed": feed,
            "form": form,
            "errors": errors,
            "field_labels": FIELD_LABELS,
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


CONFIRMATIONS: Mapping[str, Confirmation] = {
    "rotate": Confirmation(
        title="Rotate this feed's URL?",
        explanation="The feed gets a new secret URL and the current one stops working at once. Every "
        "calendar subscribed with the old URL stops updating until you subscribe again with the new "
        "one. Do this if the URL was shared with someone it should not have been.",
        button="Rotate URL",
    ),
    "revoke": Confirmation(
        title="Revoke this feed?",
        explanation="The feed's URL stops working at once and the feed disappears from your dashboard. "
        "Calendars subscribed to it stop updating; remove the subscription there too.",
        button="Revoke feed",
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
        return redirect_with(request, feed_page(feed.id), Flash("rotated", feed.id, feed.name))
    await accounts.revoke_feed(feed.id)
    return redirect_with(request, "/dashboard#notice", Flash("revoked", None, feed.name))


async def _owned_feed(request: Request) -> tuple[WebSession, FeedInfo] | Response:
    """The signed-in user's live feed named in the path; someone else's feed is as unknown as none."""
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    feed_id = row_id(request.path_params["feed_id"])
    try:
        feed = None if feed_id is None else await services_of(request).accounts.get_feed(feed_id)
    except UserOrFeedNotFound:
        feed = None
    if feed is None or feed.user_id != session.user_id or feed.revoked:
        return error_page(
            request,
            404,
            "No such feed",
            "That feed does not exist or was revoked.",
            retry="/dashboard",
            session=session,
        )
    return session, feed


@cache
def _zones() -> list[str]:
    """IANA zone names for the time zone field's suggestions; the parser still has the last word."""
    return sorted(zone for zone in zone_names() if "/" in zone and not zone.startswith("Etc/"))


routes: list[BaseRoute] = [
    Route("/dashboard/feeds/new", new_feed_form, methods=["GET"]),
    Route("/dashboard/feeds", create_feed, methods=["POST"]),
    # `feed_id` is text here, read by `row_id`: Starlette's `int` takes numbers no row can have.
    Route("/dashboard/feeds/{feed_id}/edit", edit_feed, methods=["GET", "POST"]),
    *(
        Route(
            f"/dashboard/feeds/{{feed_id}}/{action}",
            partial(confirm_action, action=action),
            methods=["GET", "POST"],
        )
        for action in CONFIRMATIONS
    ),
]
