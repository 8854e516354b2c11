"""`/feeds/<token>.ics` and `.json`: what calendar apps poll.

Why so careful with headers: a wrong 304 freezes Apple subscribers forever, gzip has broken Outlook,
and Google sends no Accept header. So: ETag from the body, 304 only on an exact If-None-Match,
gzip only when asked, `text/calendar` whatever the client says it accepts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import date, datetime
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from app.domain.entries import Entry, Episode
from app.domain.options import NO_QUERY, FeedQuery, OptionError, parse_query
from app.domain.posterkey import poster_key
from app.feeds.service import CalendarUnavailable, FeedContext, RenderedFeed
from app.services.container import Services

NOT_FOUND = "Not found\n"
# The whole (decoded) rest of a /feeds/ path must be exactly this; fullmatch, since `$` in a regex
# also matches before a trailing newline (which is how `.ics%0a` once served the feed).
_FEED_FILE = re.compile(r"(?P<token>[A-Za-z0-9_-]+)\.(?P<kind>ics|json)")


class _Anything(Convertor[str]):
    """A path parameter that takes the rest of the path whatever it holds: Starlette's `path`
    stops at a newline, which would leave `/feeds/a%0ab.ics` to the default 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anything", _Anything())


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def any_feed_path(request: Request) -> Response:
    """Every GET/HEAD under /feeds: a feed file, or the feed 404, one body for every kind of miss.

    Traversal (`..%2f`), control characters, unknown endings and empty tokens all end here, after
    the same lookup a real token costs ("" is never a feed), so no miss looks different from another.
    """
    match = _FEED_FILE.fullmatch(request.path_params.get("rest", ""))
    token, kind = (match["token"], match["kind"]) if match else ("", "ics")
    request.path_params["token"] = token
    return await (feed_json if kind == "json" else feed_ics)(request)


async def _feed(request: Request) -> tuple[FeedContext, RenderedFeed, FeedQuery] | Response:
    """The feed a request names, rendered with its options; or the plain answer why not."""
    services = _services(request)
    context = await services.feeds.lookup(request.path_params["token"])
    if context is None:
        return PlainTextResponse(NOT_FOUND, status_code=404)
    services.feeds.count_poll(context.feed_id)
    try:
        query = parse_query(request.query_params.multi_items()) if request.scope["query_string"] else NO_QUERY
        options = services.feeds.options(context, query.overrides)
    except OptionError as error:
        return PlainTextResponse(f"Bad feed option {error}\n", status_code=400)
    try:
        return context, await services.feeds.render(context, options), query
    except CalendarUnavailable:
        return PlainTextResponse(
            "Trakt cannot be reached right now and there is no earlier calendar to show; "
            "your calendar app will try again.\n",
            status_code=503,
            headers={"Retry-After": "120"},
        )


async def feed_ics(request: Request) -> Response:
    found = await _feed(request)
    if isinstance(found, Response):
        return found
    context, rendered, query = found
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": rendered.last_modified,
        "Cache-Control": f"private, max-age={_services(request).settings.cache_ttl}",
        "Vary": "Accept-Encoding",
    }
    if _etag_matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    # Named after the feed, never the token: a browser that opens the URL saves or shows a file whose
    # name would otherwise leak the secret into download folders and histories.
    disposition = "attachment" if query.download else "inline"
    headers["Content-Disposition"] = f'{disposition}; filename="{_filename(context.name)}"'
    body = rendered.body
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = rendered.gzipped()
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


async def feed_json(request: Request) -> Response:
    """The feed's entries as JSON (docs/feeds-json.md), with its own ETag: the bytes differ from the .ics."""
    found = await _feed(request)
    if isinstance(found, Response):
        return found
    context, rendered, _ = found
    body = json.dumps(
        {
            "name": context.name,
            "options": rendered.options.to_json(),
            "entries": [_entry_json(entry, rendered) for entry in rendered.entries],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    etag = '"j' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


def _entry_json(entry: Entry, rendered: RenderedFeed) -> dict[str, Any]:
    if isinstance(entry, Episode):
        return {
            "type": "episode",
            "show": entry.show.title,
            "season": entry.season,
            "number": entry.number,
            "title": entry.title,
            "first_aired": _iso(entry.first_aired),
            "runtime": entry.runtime or entry.show.runtime,
            "network": entry.show.network,
            "episode_type": entry.episode_type,
            "trakt_id": entry.trakt_id,
            "poster": rendered.posters.get(poster_key(entry)),
        }
    return {
        "type": "movie",
        "title": entry.movie.title,
        "year": entry.movie.year,
        "release": entry.kind,
        "date": _iso(entry.date),
        "trakt_id": entry.movie.trakt_id,
        "poster": rendered.posters.get(poster_key(entry)),
    }


def _iso(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _filename(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "calendar"
    return f"airdate-{slug}.ics"


# Everything under /feeds is ours: GET and HEAD, any other method is a 405 whatever the path.
routes: list[BaseRoute] = [
    Route("/feeds", any_feed_path, methods=["GET", "HEAD"]),
    Route("/feeds/{rest:anything}", any_feed_path, methods=["GET", "HEAD"]),
]
