"""Trakt API v2 endpoints the product uses: `/users/settings` and the seven `my` calendars."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.model import Dataset, Episode, Movie
from app.sandbox.shapes import calendar_movie_item, calendar_show_item
from app.sandbox.state import RATE_LIMIT, RATE_PERIOD, Token

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

MAX_DAYS = 33
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
PREMIERES = frozenset({"series_premiere", "season_premiere", "mid_season_premiere"})
FINALES = frozenset({"mid_season_finale", "season_finale", "series_finale"})

EPISODE_FILTERS: dict[str, Callable[[Episode], bool]] = {
    "shows": lambda e: True,
    "shows/new": lambda e: e.episode_type == "series_premiere",
    "shows/premieres": lambda e: e.episode_type in PREMIERES,
    "shows/finales": lambda e: e.episode_type in FINALES,
}
MOVIE_DATES: dict[str, Callable[[Movie], date | None]] = {
    "movies": lambda m: m.theatrical,
    "streaming": lambda m: m.digital,
    "dvd": lambda m: m.dvd,
}


def _http_date(value: datetime) -> str:
    return format_datetime(value, usegmt=True)


class TraktApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def routes(self) -> list[Route]:
        routes = [Route("/users/settings", self.settings, methods=["GET"])]
        for kind in (*EPISODE_FILTERS, *MOVIE_DATES):
            routes.append(
                Route(
                    f"/calendars/my/{kind}/{{start_date}}/{{days}}",
                    self._calendar_handler(kind),
                    methods=["GET"],
                )
            )
        return routes

    def _guard(self, request: Request) -> Response | Token:
        """Header checks in Trakt's order: api key (403), version (400), OAuth (401), rate (429)."""
        if request.headers.get("trakt-api-key") != self.sb.client_id:
            return JSONResponse({"error": "invalid api key"}, status_code=403)
        if request.headers.get("trakt-api-version") != "2":
            return JSONResponse({"error": "trakt-api-version 2 required"}, status_code=400)
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        now = self.sb.clock()
        token = self.sb.auth.bearer(value.strip(), now) if scheme.lower() == "bearer" else None
        if token is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if self.sb.config.enforce_rate_limit and request.method == "GET":
            window = self.sb.auth.spend(token.access_token, now)
            if window is not None:
                until = window.started + timedelta(seconds=RATE_PERIOD)
                limit = {
                    "name": "AUTHED_API_GET_LIMIT",
                    "period": RATE_PERIOD,
                    "limit": RATE_LIMIT,
                    "remaining": 0,
                    "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                return JSONResponse(
                    {"error": "rate limit exceeded"},
                    status_code=429,
                    headers={
                        "Retry-After": str(max(1, math.ceil((until - now).total_seconds()))),
                        "X-Ratelimit": json.dumps(limit, separators=(",", ":")),
                    },
                )
        return token

    async def settings(self, request: Request) -> Response:
        guard = self._guard(request)
        if isinstance(guard, Response):
            return guard
        user = guard.user
        return JSONResponse(
            {
                "user": {
                    "username": user.username,
                    "private": False,
                    "name": f"{user.username} Sandbox",
                    "vip": True,
                    "vip_ep": False,
                    "ids": {"slug": user.slug, "uuid": user.uuid},
                    "joined_at": "2020-01-01T00:00:00.000Z",
                    "location": None,
                    "about": None,
                    "gender": None,
                    "age": None,
                    "images": {"avatar": {"full": None}},
                    "vip_og": False,
                    "vip_years": 1,
                },
                "account": {
                    "timezone": user.timezone,
                    "date_format": "mdy",
                    "time_24hr": False,
                    "cover_image": None,
                    "token": user.uuid[:20],
                    "display_ads": False,
                },
                "connections": {"facebook": False, "twitter": False, "google": False},
                "sharing_text": {"watching": "I'm watching [item]", "watched": "I just watched [item]"},
                "limits": {"list": {"count": 100, "item_count": 5000}, "watchlist": {"item_count": 5000}},
            }
        )

    def _calendar_handler(self, kind: str) -> Callable[[Request], object]:
        async def handler(request: Request) -> Response:
            guard = self._guard(request)
            if isinstance(guard, Response):
                return guard
            raw_start = request.path_params["start_date"]
            raw_days = request.path_params["days"]
            if not DATE_RE.fullmatch(raw_start) or not raw_days.isdigit():
                return JSONResponse(
                    {"error": "start_date must be YYYY-MM-DD, days an integer"}, status_code=400
                )
            try:
                start_date = date.fromisoformat(raw_start)
            except ValueError:
                return JSONResponse({"error": "invalid start_date"}, status_code=400)
            span = min(int(raw_days), MAX_DAYS)
            start = datetime.combine(start_date, time(0), UTC)
            end = start + timedelta(days=span)
            query = request.query_params
            full = "full" in query.get("extended", "").split(",")
            skip_watched = query.get("ignore_watched") == "true"
            items = self._items(self.sb.dataset(), kind, start, end, full, skip_watched)
            return JSONResponse(
                items,
                headers={
                    "X-Start-Date": _http_date(start),
                    "X-End-Date": _http_date(end - timedelta(seconds=1)),
                },
            )

        return handler

    @staticmethod
    def _items(
        data: Dataset, kind: str, start: datetime, end: datetime, full: bool, skip_watched: bool
    ) -> list[dict[str, object]]:
        if kind in EPISODE_FILTERS:
            wanted = EPISODE_FILTERS[kind]
            episodes = [
                e
                for e in data.episodes
                if start <= e.first_aired < end
                and wanted(e)
                and not (skip_watched and e.ids.trakt in data.watched_episodes)
            ]
            episodes.sort(key=lambda e: (e.first_aired, e.ids.trakt))
            return [calendar_show_item(e, data.show(e.show_trakt), full) for e in episodes]
        released = MOVIE_DATES[kind]
        dated = [
            (when, m)
            for m in data.movies
            if (when := released(m)) is not None
            and start.date() <= when < end.date()
            and not (skip_watched and m.ids.trakt in data.watched_movies)
        ]
        dated.sort(key=lambda pair: (pair[0], pair[1].ids.trakt))
        return [calendar_movie_item(when, m, full) for when, m in dated]
