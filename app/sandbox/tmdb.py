"""TMDB API v3 endpoints the product uses: configuration, tv/movie details, find by external id."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.catalog import still_path
from app.sandbox.shapes import tmdb_movie_json, tmdb_tv_json
from app.sandbox.web import tmdb_error

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

POSTER_SIZES = ["w92", "w154", "w185", "w342", "w500", "w780", "original"]
NOT_FOUND = (404, 34, "The resource you requested could not be found.")
SOURCES = ("imdb_id", "tvdb_id")


class TmdbApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def routes(self) -> list[Route]:
        return [
            Route("/3/configuration", self.configuration, methods=["GET"]),
            Route("/3/tv/{tmdb_id:int}", self.tv, methods=["GET"]),
            Route(
                "/3/tv/{tmdb_id:int}/season/{season:int}/episode/{number:int}", self.episode, methods=["GET"]
            ),
            Route("/3/movie/{tmdb_id:int}", self.movie, methods=["GET"]),
            Route("/3/find/{external_id}", self.find, methods=["GET"]),
            Route("/t/p/{size}/{file}", self.image, methods=["GET", "HEAD"]),
        ]

    async def image(self, request: Request) -> Response:
        """A drawn placeholder poster, so the offline demo shows pictures where TMDB's CDN would.

        The colour comes from the file name, so each poster looks different and stays the same.
        """
        name = request.path_params["file"]
        hue = int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) % 360
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="500" height="750" viewBox="0 0 500 750">'
            f'<rect width="500" height="750" fill="hsl({hue},45%,35%)"/>'
            f'<circle cx="250" cy="300" r="120" fill="hsl({(hue + 40) % 360},60%,60%)"/>'
            '<text x="250" y="600" font-family="sans-serif" font-size="44" fill="white" '
            'text-anchor="middle">sandbox</text></svg>'
        )
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    def _authorized(self, request: Request) -> bool:
        """TMDB accepts either a v4 read token as Bearer or a v3 key as `api_key`."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        bearer = scheme.lower() == "bearer" and value.strip() == self.sb.tmdb_token
        return bearer or request.query_params.get("api_key") == self.sb.tmdb_token

    def _denied(self) -> Response:
        return tmdb_error(401, 7, "Invalid API key: You must be granted a valid key.")

    async def configuration(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        return JSONResponse(
            {
                "images": {
                    "base_url": "http://image.tmdb.org/t/p/",
                    "secure_base_url": "https://image.tmdb.org/t/p/",
                    "backdrop_sizes": ["w300", "w780", "w1280", "original"],
                    "logo_sizes": ["w45", "w92", "w154", "w185", "w300", "w500", "original"],
                    "poster_sizes": POSTER_SIZES,
                    "profile_sizes": ["w45", "w185", "h632", "original"],
                    "still_sizes": ["w92", "w185", "w300", "original"],
                },
                "change_keys": ["air_date", "images", "name", "overview", "poster_path"],
            }
        )

    async def tv(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        title = self.sb.dataset().tmdb_tv.get(request.path_params["tmdb_id"])
        if title is None:
            return tmdb_error(*NOT_FOUND)
        return JSONResponse(tmdb_tv_json(title, details=True))

    async def episode(self, request: Request) -> Response:
        """Episode details are addressed by series id + numbers, not by the episode's own id."""
        if not self._authorized(request):
            return self._denied()
        data = self.sb.dataset()
        title = data.tmdb_tv.get(request.path_params["tmdb_id"])
        season, number = request.path_params["season"], request.path_params["number"]
        found = [
            e
            for e in data.episodes
            if title is not None and e.show_trakt == title.trakt and e.season == season and e.number == number
        ]
        if not found:
            return tmdb_error(*NOT_FOUND)
        episode = found[0]
        return JSONResponse(
            {
                "id": episode.ids.tmdb or episode.ids.trakt + 900_000,
                "air_date": episode.first_aired.date().isoformat(),
                "episode_number": episode.number,
                "season_number": episode.season,
                "name": episode.title or "",
                "overview": episode.overview or "",
                "runtime": episode.runtime,
                "still_path": still_path(episode.ids.trakt),
                "vote_average": episode.rating,
                "vote_count": episode.votes,
            }
        )

    async def movie(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        title = self.sb.dataset().tmdb_movies.get(request.path_params["tmdb_id"])
        if title is None:
            return tmdb_error(*NOT_FOUND)
        return JSONResponse(tmdb_movie_json(title, details=True))

    async def find(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        source = request.query_params.get("external_source")
        if source not in SOURCES:
            return tmdb_error(400, 5, "Invalid parameters: Your request parameters are incorrect.")
        external = request.path_params["external_id"]
        data = self.sb.dataset()

        def matches(imdb_id: str | None, tvdb_id: int | None) -> bool:
            if source == "imdb_id":
                return imdb_id is not None and external == imdb_id
            return tvdb_id is not None and external == str(tvdb_id)

        return JSONResponse(
            {
                "movie_results": [
                    tmdb_movie_json(t) for t in data.tmdb_movies.values() if matches(t.imdb_id, None)
                ],
                "person_results": [],
                "tv_results": [
                    tmdb_tv_json(t) for t in data.tmdb_tv.values() if matches(t.imdb_id, t.tvdb_id)
                ],
                "tv_episode_results": [],
                "tv_season_results": [],
            }
        )
