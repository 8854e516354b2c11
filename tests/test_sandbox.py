"""The sandbox over real HTTP: OAuth flows, calendars, TMDB, faults, control API, catalog.

These pin the sandbox to the API reference, because the product's own tests trust it.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.sandbox import create_sandbox
from tests.fixtures.sandbox import RunningSandbox
from tests.support.server import serve

CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
TODAY = date(2026, 11, 25)
VERIFIER = "v" * 43 + "-._~abc123"
REDIRECT = "https://airdate.example/auth/callback"


def fixed_clock() -> datetime:
    return datetime(2026, 11, 25, 12, tzinfo=UTC)


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5) as client:
        yield client


def device_login(http: httpx.Client) -> dict[str, Any]:
    code = http.post("/oauth/device/code", json={"client_id": CLIENT["client_id"]}).json()
    body = {"code": code["device_code"], **CLIENT}
    assert http.post("/oauth/device/token", json=body).status_code == 400
    token = http.post("/oauth/device/token", json=body)
    assert token.status_code == 200
    result: dict[str, Any] = token.json()
    return result


def api_headers(token: str | None = None) -> dict[str, str]:
    headers = {
        "trakt-api-key": CLIENT["client_id"],
        "trakt-api-version": "2",
        "User-Agent": "AirdateTest/1.0",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@pytest.fixture
def api(http: httpx.Client) -> httpx.Client:
    """A client signed in as the default user with Trakt's required headers."""
    http.headers.update(api_headers(device_login(http)["access_token"]))
    return http


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- OAuth: device flow ---------------------------------------------------------------------


def test_device_flow_pending_then_token_then_already_used(
    http: httpx.Client, sandbox: RunningSandbox
) -> None:
    code = http.post("/oauth/device/code", json={"client_id": CLIENT["client_id"]}).json()
    assert code["expires_in"] == 600 and code["interval"] == 1
    assert code["verification_url"] == f"{sandbox.url}/activate"
    body = {"code": code["device_code"], **CLIENT}
    pending = http.post("/oauth/device/token", json=body)
    assert pending.status_code == 400
    token = http.post("/oauth/device/token", json=body)
    assert token.status_code == 200
    data = token.json()
    assert data["token_type"] == "bearer" and data["expires_in"] == 604800
    assert data["created_at"] == int(sandbox.clock().timestamp())
    assert len(data["access_token"]) == 64 and data["refresh_token"] != data["access_token"]
    assert http.post("/oauth/device/token", json=body).status_code == 409


def test_device_flow_unknown_expired_denied_and_slow_down(
    http: httpx.Client, sandbox: RunningSandbox
) -> None:
    assert http.post("/oauth/device/token", json={"code": "nope", **CLIENT}).status_code == 404

    def new_code() -> dict[str, str]:
        code = http.post("/oauth/device/code", json={"client_id": CLIENT["client_id"]}).json()
        return {"code": code["device_code"], **CLIENT}

    late = new_code()
    sandbox.clock.advance(seconds=601)
    assert http.post("/oauth/device/token", json=late).status_code == 410

    for outcome, status in (("deny", 418), ("expire", 410)):
        http.post("/_sandbox/config", json={"device_outcome": outcome})
        body = new_code()
        assert http.post("/oauth/device/token", json=body).status_code == 400
        assert http.post("/oauth/device/token", json=body).status_code == status

    http.post(
        "/_sandbox/config", json={"device_outcome": "approve", "enforce_interval": True, "device_interval": 5}
    )
    body = new_code()
    assert http.post("/oauth/device/token", json=body).status_code == 400
    assert http.post("/oauth/device/token", json=body).status_code == 429
    sandbox.clock.advance(seconds=5)
    assert http.post("/oauth/device/token", json=body).status_code == 200


def test_device_token_rejects_wrong_client_secret(http: httpx.Client) -> None:
    code = http.post("/oauth/device/code", json={"client_id": CLIENT["client_id"]}).json()
    body = {"code": code["device_code"], "client_id": CLIENT["client_id"], "client_secret": "x"}
    response = http.post("/oauth/device/token", json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# --- OAuth: authorization code + PKCE, refresh, revoke --------------------------------------


def authorize(http: httpx.Client, **overrides: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": CLIENT["client_id"],
        "redirect_uri": REDIRECT,
        "state": "s-123",
        "code_challenge": challenge(VERIFIER),
        "code_challenge_method": "S256",
    } | overrides
    return http.get("/oauth/authorize", params={k: v for k, v in params.items() if v})


def test_pkce_code_exchange_right_and_wrong_verifier(http: httpx.Client) -> None:
    redirect = authorize(http)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    exchange = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": REDIRECT,
        "client_id": CLIENT["client_id"],
    }
    token = http.post("/oauth/token", json=exchange | {"code_verifier": VERIFIER})
    assert token.status_code == 200 and token.json()["scope"] == "public"
    reused = http.post("/oauth/token", json=exchange | {"code_verifier": VERIFIER})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    code = parse_qs(urlsplit(authorize(http).headers["location"]).query)["code"][0]
    wrong = http.post("/oauth/token", json=exchange | {"code": code, "code_verifier": "w" * 43})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    code = parse_qs(urlsplit(authorize(http).headers["location"]).query)["code"][0]
    other_uri = exchange | {"code": code, "code_verifier": VERIFIER, "redirect_uri": REDIRECT.upper()}
    assert http.post("/oauth/token", json=other_uri).status_code == 400


def test_authorize_without_pkce_redirects_with_error(http: httpx.Client) -> None:
    response = authorize(http, code_challenge="", code_challenge_method="")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["error_description"][0].startswith("pkce is required")
    assert query["state"] == ["s-123"] and "code" not in query


def test_refresh_tokens_are_single_use_and_counted(http: httpx.Client) -> None:
    first = device_login(http)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "redirect_uri": REDIRECT,
        **CLIENT,
    }
    second = http.post("/oauth/token", json=refresh)
    assert second.status_code == 200
    assert second.json()["access_token"] != first["access_token"]
    again = http.post("/oauth/token", json=refresh)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "session not found"}
    users = http.get("/_sandbox/users").json()["users"]
    assert users == [
        {
            "slug": "demo",
            "username": "Demo",
            "timezone": "America/New_York",
            "refreshes": 1,
            "active_tokens": 2,
        }
    ]
    settings = http.get("/users/settings", headers=api_headers(second.json()["access_token"]))
    assert settings.status_code == 200


def test_revoke_token_and_revoke_user(http: httpx.Client) -> None:
    token = device_login(http)
    assert http.get("/users/settings", headers=api_headers(token["access_token"])).status_code == 200
    revoked = http.post("/oauth/revoke", json={"token": token["access_token"], **CLIENT})
    assert revoked.status_code == 200
    assert http.get("/users/settings", headers=api_headers(token["access_token"])).status_code == 401

    other = device_login(http)
    assert http.post("/_sandbox/revoke_user", json={"slug": "demo"}).json() == {"revoked": 1}
    assert http.get("/users/settings", headers=api_headers(other["access_token"])).status_code == 401
    refresh = http.post(
        "/oauth/token",
        json={"grant_type": "refresh_token", "refresh_token": other["refresh_token"], **CLIENT},
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_access_token_expires_by_sandbox_clock(http: httpx.Client, sandbox: RunningSandbox) -> None:
    http.post("/_sandbox/config", json={"access_token_ttl": 60})
    token = device_login(http)
    assert token["expires_in"] == 60
    headers = api_headers(token["access_token"])
    sandbox.clock.advance(seconds=59)
    assert http.get("/users/settings", headers=headers).status_code == 200
    sandbox.clock.advance(seconds=1)
    assert http.get("/users/settings", headers=headers).status_code == 401


def test_settings_belong_to_the_approved_user(http: httpx.Client) -> None:
    demo = http.get("/users/settings", headers=api_headers(device_login(http)["access_token"])).json()
    assert demo["user"]["ids"]["slug"] == "demo" and demo["user"]["username"] == "Demo"
    assert demo["user"]["vip"] is True and demo["account"]["timezone"] == "America/New_York"
    assert len(demo["user"]["ids"]["uuid"]) == 40 and demo["account"]["token"]
    http.post(
        "/_sandbox/config",
        json={"next_user": {"slug": "ayla", "username": "Ayla", "timezone": "Europe/Berlin"}},
    )
    ayla = http.get("/users/settings", headers=api_headers(device_login(http)["access_token"])).json()
    assert ayla["user"]["ids"]["slug"] == "ayla" and ayla["account"]["timezone"] == "Europe/Berlin"
    after = http.get("/users/settings", headers=api_headers(device_login(http)["access_token"])).json()
    assert after["user"]["ids"]["slug"] == "demo"


# --- Trakt API headers and rate limit --------------------------------------------------------


def test_api_key_version_and_bearer_are_required(http: httpx.Client) -> None:
    token = device_login(http)["access_token"]
    path = "/calendars/my/shows/2026-11-25/7"
    good = api_headers(token)
    assert http.get(path, headers=good).status_code == 200
    assert http.get(path, headers=good | {"trakt-api-key": "other"}).status_code == 403
    no_key = {k: v for k, v in good.items() if k != "trakt-api-key"}
    assert http.get(path, headers=no_key).status_code == 403
    no_version = {k: v for k, v in good.items() if k != "trakt-api-version"}
    assert http.get(path, headers=no_version).status_code == 400
    assert http.get(path, headers=api_headers()).status_code == 401
    assert http.get(path, headers=good | {"Authorization": "Bearer bogus"}).status_code == 401


def test_rate_limit_per_token_window(api: httpx.Client, sandbox: RunningSandbox) -> None:
    path = "/calendars/my/dvd/2026-11-25/1"
    statuses = Counter(api.get(path).status_code for _ in range(500))
    assert statuses == {200: 500}
    limited = api.get(path)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "300"
    info = json.loads(limited.headers["X-Ratelimit"])
    assert info == {
        "name": "AUTHED_API_GET_LIMIT",
        "period": 300,
        "limit": 500,
        "remaining": 0,
        "until": "2026-11-25T12:05:00Z",
    }
    sandbox.clock.advance(seconds=300)
    assert api.get(path).status_code == 200


# --- Calendars ----------------------------------------------------------------------------------


def test_shows_calendar_range_headers_and_order(api: httpx.Client) -> None:
    response = api.get("/calendars/my/shows/2026-11-18/68", params={"extended": "full"})
    assert response.status_code == 200
    assert response.headers["X-Start-Date"] == "Wed, 18 Nov 2026 00:00:00 GMT"
    assert response.headers["X-End-Date"] == "Sun, 20 Dec 2026 23:59:59 GMT"
    items = response.json()
    start = datetime(2026, 11, 18, tzinfo=UTC)
    aired = [iso(i["first_aired"]) for i in items]
    assert aired == sorted(aired)
    capped = start + timedelta(days=33)
    assert all(start <= t < capped for t in aired)
    catalog = [iso(i["first_aired"]) for i in api.get("/_sandbox/dataset").json()["shows"]]
    assert aired == [t for t in catalog if start <= t < capped]
    assert any(capped <= t < start + timedelta(days=68) for t in catalog)
    assert all(i["first_aired"] == i["episode"]["first_aired"] for i in items)
    assert all(i["first_aired"].endswith(".000Z") for i in items)


def test_calendar_window_matches_dataset_exactly(api: httpx.Client) -> None:
    dataset = api.get("/_sandbox/dataset").json()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    expected = [i for i in dataset["shows"] if start <= iso(i["first_aired"]) < start + timedelta(days=10)]
    served = api.get("/calendars/my/shows/2026-12-01/10", params={"extended": "full"}).json()
    assert served == expected and len(served) > 10


def test_extended_full_versus_minimal_fields(api: httpx.Client) -> None:
    minimal = api.get("/calendars/my/shows/2026-11-25/7").json()[0]
    assert set(minimal) == {"first_aired", "episode", "show"}
    assert set(minimal["episode"]) == {"season", "number", "title", "ids"}
    assert set(minimal["show"]) == {"title", "year", "ids"}
    assert set(minimal["episode"]["ids"]) == {"trakt", "tvdb", "imdb", "tmdb"}
    assert set(minimal["show"]["ids"]) == {"trakt", "slug", "tvdb", "imdb", "tmdb"}
    full = api.get("/calendars/my/shows/2026-11-25/7", params={"extended": "full"}).json()[0]
    assert {
        "number_abs",
        "overview",
        "first_aired",
        "updated_at",
        "rating",
        "votes",
        "comment_count",
        "available_translations",
        "runtime",
        "episode_type",
    } <= set(full["episode"])
    assert {
        "overview",
        "first_aired",
        "airs",
        "runtime",
        "certification",
        "network",
        "country",
        "updated_at",
        "status",
        "language",
        "genres",
        "aired_episodes",
    } <= set(full["show"])
    assert set(full["show"]["airs"]) == {"day", "time", "timezone"}
    movie_min = api.get("/calendars/my/movies/2026-11-20/30").json()[0]
    assert set(movie_min) == {"released", "movie"} and set(movie_min["movie"]) == {"title", "year", "ids"}
    movie_full = api.get("/calendars/my/movies/2026-11-20/30", params={"extended": "full"}).json()
    assert {
        "tagline",
        "overview",
        "released",
        "runtime",
        "updated_at",
        "language",
        "genres",
        "certification",
    } <= set(movie_full[0]["movie"])


def test_premieres_finales_and_new_filter_by_episode_type(api: httpx.Client) -> None:
    def types(kind: str) -> set[str]:
        items = []
        for start in (
            "2026-08-01",
            "2026-09-03",
            "2026-10-06",
            "2026-11-08",
            "2026-12-11",
            "2027-01-13",
            "2027-02-15",
            "2027-03-20",
        ):
            items += api.get(f"/calendars/my/{kind}/{start}/33", params={"extended": "full"}).json()
        return {i["episode"]["episode_type"] for i in items}

    assert types("shows/new") == {"series_premiere"}
    assert types("shows/premieres") == {"series_premiere", "season_premiere", "mid_season_premiere"}
    assert types("shows/finales") == {"mid_season_finale", "season_finale", "series_finale"}


def test_movie_calendars_use_their_own_release_dates(api: httpx.Client) -> None:
    dataset = api.get("/_sandbox/dataset").json()
    for kind, key in (("movies", "theatrical"), ("streaming", "digital"), ("dvd", "dvd")):
        served = api.get(f"/calendars/my/{kind}/2026-11-18/33", params={"extended": "full"}).json()
        expected = sorted(
            (m[key], m["movie"]["ids"]["trakt"])
            for m in dataset["movies"]
            if m[key] and "2026-11-18" <= m[key] < "2026-12-21"
        )
        assert [(i["released"], i["movie"]["ids"]["trakt"]) for i in served] == expected
        assert expected, kind


def test_ignore_watched_drops_watched_items(api: httpx.Client) -> None:
    watched = api.get("/_sandbox/dataset").json()["watched"]
    every = api.get("/calendars/my/shows/2026-11-18/33").json()
    unwatched = api.get("/calendars/my/shows/2026-11-18/33", params={"ignore_watched": "true"}).json()
    dropped = {i["episode"]["ids"]["trakt"] for i in every} - {
        i["episode"]["ids"]["trakt"] for i in unwatched
    }
    assert dropped and dropped <= set(watched["episodes"])
    assert len(unwatched) == len(every) - len(dropped)
    movies = api.get("/calendars/my/streaming/2026-11-18/33").json()
    fresh = api.get("/calendars/my/streaming/2026-11-18/33", params={"ignore_watched": "true"}).json()
    expected = {
        m["movie"]["ids"]["trakt"]
        for m in api.get("/_sandbox/dataset").json()["movies"]
        if m["movie"]["ids"]["trakt"] in watched["movies"]
        and m["digital"]
        and "2026-11-18" <= m["digital"] < "2026-12-21"
    }
    assert expected == {101, 112}
    assert {m["movie"]["ids"]["trakt"] for m in movies} - {
        m["movie"]["ids"]["trakt"] for m in fresh
    } == expected


@pytest.mark.parametrize(
    "path",
    [
        "/calendars/my/shows/2026-13-01/7",
        "/calendars/my/shows/25-11-2026/7",
        "/calendars/my/movies/2026-11-25/x",
    ],
)
def test_bad_calendar_parameters_are_400(api: httpx.Client, path: str) -> None:
    assert api.get(path).status_code == 400


def test_calendar_data_is_relative_to_the_clock_date(api: httpx.Client, sandbox: RunningSandbox) -> None:
    before = api.get("/_sandbox/dataset").json()
    sandbox.clock.advance(days=7)
    after = api.get("/_sandbox/dataset").json()
    assert after["today"] == "2026-12-02"
    shift = [
        iso(a["first_aired"]) - iso(b["first_aired"])
        for a, b in zip(after["shows"], before["shows"], strict=True)
    ]
    assert set(shift) == {timedelta(days=7)}


# --- Catalog properties -------------------------------------------------------------------------


def test_catalog_density_and_tricky_cases(sandbox: RunningSandbox) -> None:
    data = sandbox.state.dataset()
    start = datetime(2026, 11, 18, tzinfo=UTC)
    window = [e for e in data.episodes if start <= e.first_aired < start + timedelta(days=68)]
    assert len(window) >= 100
    movie_dates = [
        d
        for m in data.movies
        for d in (m.theatrical, m.digital, m.dvd)
        if d and date(2026, 11, 18) <= d < date(2027, 1, 25)
    ]
    assert len(movie_dates) >= 10
    year_events = [e for e in data.episodes if start <= e.first_aired < start + timedelta(days=365)]
    assert len(year_events) + len(movie_dates) >= 150
    assert Counter(e.episode_type for e in data.episodes).keys() == {
        "standard",
        "series_premiere",
        "season_premiere",
        "mid_season_premiere",
        "mid_season_finale",
        "season_finale",
        "series_finale",
    }
    assert any(e.season == 0 for e in data.episodes)
    hours = {e.first_aired.strftime("%H:%M") for e in data.episodes}
    assert {"01:00", "02:30", "23:30", "13:00", "20:00"} <= hours
    titles = (
        [s.title for s in data.shows]
        + [e.title or "" for e in data.episodes]
        + [m.title for m in data.movies]
    )
    for needle in (",", ";", "\\", ":", '"', "🚀", "星", "ح", "ש"):
        assert any(needle in t for t in titles), needle
    episode_titles = [e.title for e in data.episodes]
    assert None in episode_titles and "" in episode_titles and "Episode 5" in episode_titles
    assert any(len(s.overview or "") > 4000 for s in data.shows)
    assert any("\n" in (e.overview or "") for e in data.episodes)
    assert any(s.runtime is None for s in data.shows)
    assert any(e.runtime is None and data.show(e.show_trakt).runtime for e in data.episodes)
    no_tmdb = [s for s in data.shows if s.ids.tmdb is None]
    assert any(s.ids.imdb for s in no_tmdb) and any(not s.ids.imdb for s in no_tmdb)
    assert any(m.ids.tmdb is None for m in data.movies)
    assert any(m.theatrical and not m.digital for m in data.movies)
    assert len({e.ids.trakt for e in data.episodes}) == len(data.episodes)


def test_binge_drop_is_a_whole_season_at_one_instant(sandbox: RunningSandbox) -> None:
    data = sandbox.state.dataset()
    [(show_id, season)] = data.drops.items()
    drop = [e for e in data.episodes if e.show_trakt == show_id and e.season == season]
    assert len(drop) == 8 and len({e.first_aired for e in drop}) == 1
    assert drop[0].first_aired > sandbox.clock()


def test_same_seed_and_date_give_identical_data() -> None:
    first, again = create_sandbox(fixed_clock).dataset(), create_sandbox(fixed_clock).dataset()
    assert first == again
    assert first != create_sandbox(fixed_clock, seed=2).dataset()


# --- Overrides and drop resizing -------------------------------------------------------------------


def test_overrides_reach_the_calendar(api: httpx.Client) -> None:
    item = api.get("/calendars/my/shows/2026-11-25/3", params={"extended": "full"}).json()[0]
    episode_id = item["episode"]["ids"]["trakt"]
    moved = "2026-11-27T18:45:00.000Z"
    response = api.post(
        "/_sandbox/overrides",
        json={
            "kind": "episode",
            "trakt_id": episode_id,
            "fields": {"title": "Renamed, Again", "first_aired": moved},
        },
    )
    assert response.status_code == 200
    items = api.get("/calendars/my/shows/2026-11-25/3", params={"extended": "full"}).json()
    [edited] = [i for i in items if i["episode"]["ids"]["trakt"] == episode_id]
    assert edited["first_aired"] == moved and edited["episode"]["title"] == "Renamed, Again"
    api.post(
        "/_sandbox/overrides",
        json={"kind": "show", "trakt_id": item["show"]["ids"]["trakt"], "fields": {"network": "Elsewhere"}},
    )
    again = api.get("/calendars/my/shows/2026-11-25/3", params={"extended": "full"}).json()
    assert {
        i["show"]["network"] for i in again if i["show"]["ids"]["trakt"] == item["show"]["ids"]["trakt"]
    } == {"Elsewhere"}
    bad = api.post(
        "/_sandbox/overrides",
        json={"kind": "episode", "trakt_id": episode_id, "fields": {"no_such_field": 1}},
    )
    assert bad.status_code == 400
    missing = api.post(
        "/_sandbox/overrides", json={"kind": "movie", "trakt_id": 999, "fields": {"title": "x"}}
    )
    assert missing.status_code == 400


def test_drop_grow_and_shrink(api: httpx.Client, sandbox: RunningSandbox) -> None:
    [(show_id, _)] = sandbox.state.dataset().drops.items()
    drop_day = "2026-12-07"

    def drop_size() -> int:
        items = api.get(f"/calendars/my/shows/{drop_day}/1").json()
        return sum(1 for i in items if i["show"]["ids"]["trakt"] == show_id)

    assert drop_size() == 8
    assert api.post("/_sandbox/drop_grow", json={"show_trakt_id": show_id}).json() == {"episodes": 9}
    assert drop_size() == 9
    api.post("/_sandbox/drop_shrink", json={"show_trakt_id": show_id})
    api.post("/_sandbox/drop_shrink", json={"show_trakt_id": show_id})
    assert drop_size() == 7
    assert api.post("/_sandbox/drop_grow", json={"show_trakt_id": 1}).status_code == 400


# --- Faults -------------------------------------------------------------------------------------------


def test_fault_status_times_then_recovery(api: httpx.Client) -> None:
    api.post("/_sandbox/faults", json={"prefix": "/calendars", "status": 503, "times": 2})
    path = "/calendars/my/shows/2026-11-25/1"
    assert [api.get(path).status_code for _ in range(3)] == [503, 503, 200]


def test_fault_delay_alone_is_a_slow_success(api: httpx.Client) -> None:
    api.post("/_sandbox/faults", json={"prefix": "/users", "delay_ms": 150, "times": 1})
    started = time.monotonic()
    response = api.get("/users/settings")
    assert response.status_code == 200 and time.monotonic() - started >= 0.15


def test_fault_trickle_sends_the_real_answer_in_slow_pieces(api: httpx.Client) -> None:
    api.post("/_sandbox/faults", json={"prefix": "/users", "trickle_ms": 20, "times": 1})
    started = time.monotonic()
    with api.stream("GET", "/users/settings") as response:
        pieces = list(response.iter_raw())
    assert response.status_code == 200 and time.monotonic() - started >= 0.02 * len(pieces)
    assert len(pieces) > 3 and json.loads(b"".join(pieces))["user"]["ids"]["slug"] == "demo"


def test_fault_bodies_malformed_and_html(api: httpx.Client) -> None:
    api.post(
        "/_sandbox/faults",
        json=[
            {"prefix": "/calendars/my/movies", "body": "malformed", "times": 1},
            {"prefix": "/calendars/my/dvd", "body": "html", "status": 403},
        ],
    )
    malformed = api.get("/calendars/my/movies/2026-11-25/7")
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.text)
    html = api.get("/calendars/my/dvd/2026-11-25/7")
    assert html.status_code == 403 and html.headers["server"] == "cloudflare"
    assert html.headers["content-type"].startswith("text/html") and "Cloudflare" in html.text
    assert api.delete("/_sandbox/faults").json() == {"faults": 0}
    assert api.get("/calendars/my/dvd/2026-11-25/7").status_code == 200


def test_fault_429_carries_retry_after(api: httpx.Client) -> None:
    api.post("/_sandbox/faults", json={"prefix": "/calendars", "status": 429, "retry_after": 10})
    response = api.get("/calendars/my/shows/2026-11-25/7")
    assert response.status_code == 429 and response.headers["Retry-After"] == "10"
    assert json.loads(response.headers["X-Ratelimit"])["until"] == "2026-11-25T12:00:10Z"


def test_a_fault_for_one_user_spares_the_others(http: httpx.Client, sandbox: RunningSandbox) -> None:
    demo = api_headers(device_login(http)["access_token"])
    http.post("/_sandbox/config", json={"next_user": {"slug": "ayla"}})
    ayla = api_headers(device_login(http)["access_token"])
    fault = {"prefix": "/calendars", "status": 429, "retry_after": 10, "user": "ayla"}
    assert http.post("/_sandbox/faults", json=fault).status_code == 200

    assert http.get("/calendars/my/shows/2026-11-25/7", headers=demo).status_code == 200
    assert http.get("/calendars/my/shows/2026-11-25/7", headers=ayla).status_code == 429
    assert (sandbox.state.count("/calendars", "demo"), sandbox.state.count("/calendars", "ayla")) == (1, 1)


def test_fault_retry_after_as_an_http_date(api: httpx.Client) -> None:
    fault = {"prefix": "/calendars", "status": 429, "retry_after": 90, "retry_after_date": True}
    api.post("/_sandbox/faults", json=fault)
    response = api.get("/calendars/my/shows/2026-11-25/7")
    assert response.status_code == 429 and response.headers["Retry-After"] == "Wed, 25 Nov 2026 12:01:30 GMT"
    assert api.post("/_sandbox/faults", json={"prefix": "/", "user": 7}).status_code == 400
    assert api.post("/_sandbox/faults", json={"prefix": "/", "retry_after_date": "y"}).status_code == 400


def test_faults_apply_before_auth_on_oauth_and_tmdb(http: httpx.Client) -> None:
    http.post(
        "/_sandbox/faults", json=[{"prefix": "/oauth/token", "status": 502}, {"prefix": "/3/", "status": 503}]
    )
    assert http.post("/oauth/token", json={}).status_code == 502
    tmdb = http.get("/3/configuration")
    assert tmdb.status_code == 503 and tmdb.json()["success"] is False


def test_bad_control_input_is_400(http: httpx.Client) -> None:
    assert http.post("/_sandbox/faults", json={"status": 500}).status_code == 400
    assert http.post("/_sandbox/faults", json={"prefix": "/", "body": "weird"}).status_code == 400
    assert http.post("/_sandbox/faults", json={"prefix": "/", "status": "503"}).status_code == 400
    assert http.post("/_sandbox/faults", json={"prefix": "/", "times": 0}).status_code == 400
    assert http.post("/_sandbox/faults", content=b"{not json").status_code == 400
    assert http.post("/_sandbox/config", json={"nope": 1}).status_code == 400
    assert http.post("/_sandbox/config", json={"device_outcome": "maybe"}).status_code == 400


# --- Call log -------------------------------------------------------------------------------------------


def test_calls_are_recorded_and_counted(api: httpx.Client, sandbox: RunningSandbox) -> None:
    api.get("/calendars/my/shows/2026-11-25/7", params={"extended": "full"})
    api.get("/calendars/my/movies/2026-11-25/7")
    assert api.get("/_sandbox/count", params={"prefix": "/calendars"}).json() == {"count": 2}
    assert sandbox.state.count("/oauth/device") == 3
    calls = api.get("/_sandbox/calls", params={"prefix": "/calendars/my/shows"}).json()["calls"]
    assert calls == [
        {
            "method": "GET",
            "path": "/calendars/my/shows/2026-11-25/7",
            "query": "extended=full",
            "status": 200,
            "at": "2026-11-25T12:00:00+00:00",
            "user_agent": "AirdateTest/1.0",
            "user": "demo",
        }
    ]
    assert api.get("/_sandbox/count", params={"prefix": "/", "user": "demo"}).json() == {"count": 2}
    assert sandbox.state.count("/", "ayla") == 0
    api.post("/_sandbox/reset")
    assert sandbox.state.calls == []


# --- TMDB ---------------------------------------------------------------------------------------------------


def test_tmdb_auth_by_bearer_or_api_key(http: httpx.Client) -> None:
    denied = http.get("/3/configuration")
    assert denied.status_code == 401
    assert denied.json() == {
        "status_code": 7,
        "success": False,
        "status_message": "Invalid API key: You must be granted a valid key.",
    }
    assert http.get("/3/configuration", headers={"Authorization": "Bearer wrong"}).status_code == 401
    by_key = http.get("/3/configuration", params={"api_key": "sandbox-tmdb-token"})
    by_bearer = http.get("/3/configuration", headers={"Authorization": "Bearer sandbox-tmdb-token"})
    assert by_key.json() == by_bearer.json()
    assert "w500" in by_key.json()["images"]["poster_sizes"]
    assert by_key.json()["images"]["secure_base_url"].endswith("/t/p/")


def test_tmdb_details_posters_and_404(http: httpx.Client, sandbox: RunningSandbox) -> None:
    http.headers["Authorization"] = "Bearer sandbox-tmdb-token"
    data = sandbox.state.dataset()
    with_tmdb = [s for s in data.shows if s.ids.tmdb is not None]
    for show in with_tmdb:
        details = http.get(f"/3/tv/{show.ids.tmdb}").json()
        assert details["id"] == show.ids.tmdb and details["name"] == show.title
        poster = details["poster_path"]
        assert poster is None or (poster.startswith("/") and poster.endswith(".jpg"))
    posters = [
        http.get(f"/3/movie/{m.ids.tmdb}").json()["poster_path"]
        for m in data.movies
        if m.ids.tmdb is not None
    ]
    assert None in posters and any(posters)
    missing = http.get("/3/tv/999999")
    assert missing.status_code == 404 and missing.json()["status_code"] == 34


def test_tmdb_episode_details_by_series_and_numbers(http: httpx.Client, sandbox: RunningSandbox) -> None:
    http.headers["Authorization"] = "Bearer sandbox-tmdb-token"
    data = sandbox.state.dataset()
    show = data.show(1)
    episodes = [e for e in data.episodes if e.show_trakt == 1][:3]
    stills = []
    for episode in episodes:
        details = http.get(f"/3/tv/{show.ids.tmdb}/season/{episode.season}/episode/{episode.number}").json()
        assert details["id"] == episode.ids.tmdb and details["name"] == episode.title
        assert details["air_date"] == episode.first_aired.date().isoformat()
        stills.append(details["still_path"])
    assert None in stills and any(stills)
    assert http.get(f"/3/tv/{show.ids.tmdb}/season/99/episode/1").status_code == 404


def test_tmdb_find_resolves_titles_trakt_has_no_tmdb_id_for(
    http: httpx.Client, sandbox: RunningSandbox
) -> None:
    http.headers["Authorization"] = "Bearer sandbox-tmdb-token"
    data = sandbox.state.dataset()
    [show] = [s for s in data.shows if s.ids.tmdb is None and s.ids.imdb]
    found = http.get(f"/3/find/{show.ids.imdb}", params={"external_source": "imdb_id"}).json()
    assert set(found) == {
        "movie_results",
        "tv_results",
        "person_results",
        "tv_episode_results",
        "tv_season_results",
    }
    [result] = found["tv_results"]
    assert result["name"] == show.title and result["poster_path"]
    assert http.get(f"/3/tv/{result['id']}").status_code == 200
    by_tvdb = http.get(f"/3/find/{show.ids.tvdb}", params={"external_source": "tvdb_id"}).json()
    assert [r["id"] for r in by_tvdb["tv_results"]] == [result["id"]]
    [movie] = [m for m in data.movies if m.ids.tmdb is None and m.ids.imdb]
    films = http.get(f"/3/find/{movie.ids.imdb}", params={"external_source": "imdb_id"}).json()
    assert [r["title"] for r in films["movie_results"]] == [movie.title]
    nothing = http.get("/3/find/tt0000001", params={"external_source": "imdb_id"}).json()
    assert nothing["tv_results"] == [] and nothing["movie_results"] == []


# --- serve() -------------------------------------------------------------------------------------------


async def test_serve_works_from_async_tests() -> None:
    state = create_sandbox(fixed_clock, client_id="other-id")
    with serve(state.app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/oauth/device/code", json={"client_id": "other-id"})
    assert response.status_code == 200 and state.count("/oauth/device/code") == 1
    async with httpx.AsyncClient() as late:
        with pytest.raises(httpx.ConnectError):
            await late.get(url + "/activate")


def test_sandbox_imports_nothing_of_the_product() -> None:
    """The sandbox is written from the API reference alone, never from the product's code."""
    package = Path(__file__).resolve().parents[1] / "app" / "sandbox"
    imported: set[str] = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name == "app" or name.startswith("app.")}
    assert ours and all(name.startswith("app.sandbox") for name in ours), ours


def test_placeholder_posters_differ_by_file_and_stay_the_same(sandbox: RunningSandbox) -> None:
    first = httpx.get(f"{sandbox.url}/t/p/w500/abc.jpg")
    again = httpx.get(f"{sandbox.url}/t/p/w500/abc.jpg")
    other = httpx.get(f"{sandbox.url}/t/p/w500/xyz.jpg")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/svg+xml"
    assert first.text.startswith("<svg") and first.text == again.text
    assert other.text != first.text
