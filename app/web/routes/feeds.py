"""`/feeds/<token>.ics` and `.json`: what calendar apps poll.

Why so careful with headers: a wrong 304 freezes Apple subscribers forever, gzip has broken Outlook,
and Google sends no Accept header. So: ETag from the body, 304 only on an exact If-None-Match,
gzip only when asked, `text/calendar` whatever the client says it accepts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.domain.entries import Entry, Episode
from app.domain.options import NO_QUERY, FeedQuery, OptionError, parse_query
from app.domain.posterkey import poster_key
from app.feeds.service import CalendarUnavailable, FeedContext, RenderedFeed
from app.services.container import Services

log = logging.getLogger(__name__)

NOT_FOUND = "Not found\n"
SERVER_ERROR = "Internal server error\n"
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


RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole HTTP answer, sent as is: the headers exactly as Starlette's `Response` builds them."""

    status: int
    headers: RawHeaders
    body: bytes

    @classmethod
    def of(cls, response: Response) -> Answer:
        return cls(response.status_code, response.raw_headers, bytes(response.body))


_NOT_FOUND = Answer.of(PlainTextResponse(NOT_FOUND, status_code=404))
_SERVER_ERROR = Answer.of(PlainTextResponse(SERVER_ERROR, status_code=500))
_UNAVAILABLE = Answer.of(
    PlainTextResponse(
        "Trakt cannot be reached right now and there is no earlier calendar to show; "
        "your calendar app will try again.\n",
        status_code=503,
        headers={"Retry-After": "120"},
    )
)


class FeedFiles:
    """The ASGI endpoint of every GET/HEAD under /feeds: a feed file, or the feed 404, one body for
    every kind of miss.

    Why ASGI and not a Starlette `Request`/`Response` endpoint: a warm poll is the service's whole
    load, and building those objects, parsing headers into them and encoding headers again cost as much
    as answering (docs/performance.md, issue 11). Answers come prepared per rendering instead.
    Traversal (`..%2f`), control characters, unknown endings and empty tokens all end in the 404
    after the same lookup a real token costs ("" is never a feed), so no miss looks different.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.send(await self.answer(scope), send)

    @staticmethod
    async def send(answer: Answer, send: Send) -> None:
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def answer(self, scope: Scope) -> Answer:
        match = _FEED_FILE.fullmatch(scope["path_params"].get("rest", ""))
        token, kind = (match["token"], match["kind"]) if match else ("", "ics")
        services: Services = scope["app"].state.services
        context = await services.feeds.lookup(token)
        if context is None:
            return _NOT_FOUND
        services.feeds.count_poll(context.feed_id)
        query_string: bytes = scope["query_string"]
        try:
            query = (
                parse_query(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
                if query_string
                else NO_QUERY
            )
            options = services.feeds.options(context, query.overrides)
        except OptionError as error:
            return Answer.of(PlainTextResponse(f"Bad feed option {error}\n", status_code=400))
        try:
            rendered = await services.feeds.render(context, options)
        except CalendarUnavailable:
            return _UNAVAILABLE
        if_none_match = accept_encoding = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get
            if name == b"if-none-match" and if_none_match is None:
                if_none_match = value.decode("latin-1")
            elif name == b"accept-encoding" and accept_encoding is None:
                accept_encoding = value.decode("latin-1")
        if kind == "json":
            return _json_answer(context, rendered, if_none_match, accept_encoding)
        cache_ttl = services.settings.cache_ttl
        return _ics_answer(context, rendered, query, cache_ttl, if_none_match, accept_encoding)


def _ics_answer(
    context: FeedContext,
    rendered: RenderedFeed,
    query: FeedQuery,
    cache_ttl: int,
    if_none_match: str | None,
    accept_encoding: str | None,
) -> Answer:
    """The .ics answer, prepared once per rendering and variant (the feed's name is part of what a
    rendering was made from, so its file name cannot change under it)."""
    if _etag_matches(if_none_match, rendered.etag):
        return rendered.derived(
            ("ics-304", cache_ttl),
            lambda: Answer.of(Response(status_code=304, headers=_ics_headers(rendered, cache_ttl))),
        )
    gzipped = _accepts_gzip(accept_encoding or "")

    def make() -> Answer:
        headers = _ics_headers(rendered, cache_ttl)
        # Named after the feed, never the token: a browser that opens the URL saves or shows a file
        # whose name would otherwise leak the secret into download folders and histories.
        disposition = "attachment" if query.download else "inline"
        headers["Content-Disposition"] = f'{disposition}; filename="{_filename(context.name)}"'
        body = rendered.body
        if gzipped:
            body = rendered.gzipped()
            headers["Content-Encoding"] = "gzip"
        return Answer.of(Response(body, media_type="text/calendar; charset=utf-8", headers=headers))

    return rendered.derived(("ics", cache_ttl, query.download, gzipped), make)


def _ics_headers(rendered: RenderedFeed, cache_ttl: int) -> dict[str, str]:
    return {
        "ETag": rendered.etag,
        "Last-Modified": rendered.last_modified,
        "Cache-Control": f"private, max-age={cache_ttl}",
        "Vary": "Accept-Encoding",
    }


def _json_answer(
    context: FeedContext, rendered: RenderedFeed, if_none_match: str | None, accept_encoding: str | None
) -> Answer:
    """The feed's entries as JSON (docs/feeds-json.md), with its own ETag: the bytes differ from the
    .ics. Made once per rendering, as the .ics is."""
    body, etag = rendered.derived("json", lambda: _json_body(context, rendered))
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if _etag_matches(if_none_match, etag):
        return rendered.derived("json-304", lambda: Answer.of(Response(status_code=304, headers=headers)))
    gzipped = _accepts_gzip(accept_encoding or "")

    def make() -> Answer:
        content = body
        if gzipped:
            content = gzip.compress(body, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return Answer.of(Response(content, media_type="application/json", headers=headers))

    return rendered.derived(("json", gzipped), make)


def _json_body(context: FeedContext, rendered: RenderedFeed) -> tuple[bytes, str]:
    """The JSON document and its ETag (quoted, strong, marked so it never equals the .ics one)."""
    body = json.dumps(
        {
            "name": context.name,
            "options": rendered.options.to_json(),
            "entries": [_entry_json(entry, rendered) for entry in rendered.entries],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return body, '"j' + hashlib.sha256(body).hexdigest()[:32] + '"'


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
    if header == etag:  # what calendar apps send back: the ETag alone
        return True
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
_FILES = FeedFiles()
_FILE_ROUTE = Route("/feeds/{rest:anything}", _FILES, methods=["GET", "HEAD"])
routes: list[Route] = [Route("/feeds", _FILES, methods=["GET", "HEAD"]), _FILE_ROUTE]
_PREFIX = "/feeds/"
_READS = frozenset({"GET", "HEAD"})


Ended = Callable[[Scope, int, int, float], None]


class FeedsFirst:
    """ASGI middleware in front of the whole application (Starlette's own error middleware included:
    `app.web.app`) giving a feed poll straight to its endpoint. The layers it skips (the error
    middleware's and the request observer's `send` wrappers, the exception middleware, the router)
    cost a warm poll more than finding and answering the feed (docs/performance.md, issue 11).

    What it takes is exactly what `_FILE_ROUTE` matches (a GET or HEAD whose path starts `/feeds/`,
    the rest of it the route's `rest`), and the request looks to the endpoint and to the access log as
    the router would have left it. It reports the poll to `ended` (`app.web.observe.Observer.ended`)
    itself, since it knows the whole answer it sends. A failure gets what a feed URL always got from
    the error middleware and `routes.errors`: the plain 500, and one log line without the path (it
    holds the token). Anything else (`/feeds` itself, a POST's 405, a prefixed path under a
    `root_path`) goes on to the application.
    """

    def __init__(self, app: ASGIApp, ended: Ended) -> None:
        self.app = app
        self.ended = ended

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if not (
            path.startswith(_PREFIX)
            and scope["type"] == "http"
            and scope["method"] in _READS
            and not scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        scope["route"] = _FILE_ROUTE
        scope["path_params"] = {"rest": path[len(_PREFIX) :]}
        answer, sent = _SERVER_ERROR, 0  # a cancelled poll is recorded as a 500 that sent nothing
        try:
            try:
                answer = await _FILES.answer(scope)
            except Exception as error:
                log.error(
                    "unhandled %s on %s /feeds/…", type(error).__name__, scope["method"], exc_info=error
                )
            await _FILES.send(answer, send)
            sent = len(answer.body)
        finally:
            self.ended(scope, answer.status, sent, started)
