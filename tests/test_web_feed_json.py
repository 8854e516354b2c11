"""`/feeds/<token>.json` for dashboards and widgets, and how a feed names itself when a browser opens it.

Over HTTP against the running app on both backends. The JSON's shape is docs/feeds-json.md; this
checks every field named there is present with its documented type, so the page cannot drift.
"""

from __future__ import annotations

import gzip
import re

import httpx

from tests.fixtures.app import RunningApp

EPISODE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "show": str,
    "season": int,
    "number": int,
    "title": (str, type(None)),
    "first_aired": str,
    "runtime": (int, type(None)),
    "network": (str, type(None)),
    "episode_type": str,
    "trakt_id": int,
    "poster": (str, type(None)),
}
MOVIE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "title": str,
    "year": (int, type(None)),
    "release": str,
    "date": str,
    "trakt_id": int,
    "poster": (str, type(None)),
}


def test_json_has_its_own_etag_answers_304_and_gzips_when_asked(running_app: RunningApp) -> None:
    feed = running_app.connect()
    base = f"{running_app.url}/feeds/{feed.token}"
    calendar = httpx.get(base + ".ics")
    plain = httpx.get(base + ".json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    etag = plain.headers["etag"]
    assert re.fullmatch(r'"j[0-9a-f]{32}"', etag) and etag != calendar.headers["etag"]
    assert "content-encoding" not in plain.headers

    assert httpx.get(base + ".json").headers["etag"] == etag  # same data, same tag
    unchanged = httpx.get(base + ".json", headers={"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", etag)
    stale = httpx.get(base + ".json", headers={"If-None-Match": calendar.headers["etag"]})
    assert stale.status_code == 200  # the .ics's tag is not the JSON's

    with httpx.stream("GET", base + ".json", headers={"Accept-Encoding": "gzip"}) as zipped:
        assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(b"".join(zipped.iter_raw())) == plain.content  # the bytes as sent
    refused = httpx.get(base + ".json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_json_shape_matches_the_documentation(running_app: RunningApp) -> None:
    feed = running_app.connect()
    data = httpx.get(f"{running_app.url}/feeds/{feed.token}.json").json()
    assert set(data) == {"name", "options", "entries"}
    assert data["name"] == "Shows and movies" and data["options"]["sources"] == ["shows", "movies"]
    kinds = {"episode": EPISODE_FIELDS, "movie": MOVIE_FIELDS}
    seen = set()
    for entry in data["entries"]:
        fields = kinds[entry["type"]]
        assert set(entry) == set(fields), entry
        for name, kind in fields.items():
            assert isinstance(entry[name], kind), (name, entry)
        seen.add(entry["type"])
        if entry["type"] == "episode":
            assert entry["first_aired"].endswith("Z")
        else:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["date"])
            assert entry["release"] in {"theatrical", "digital", "dvd"}
    assert seen == {"episode", "movie"}


def test_a_feed_opened_in_a_browser_is_named_after_the_feed_never_the_token(running_app: RunningApp) -> None:
    feed = running_app.connect("Évening TV / Shows")
    url = f"{running_app.url}/feeds/{feed.token}.ics"
    inline = httpx.get(url).headers["content-disposition"]
    assert inline == 'inline; filename="airdate-vening-tv-shows.ics"'
    attachment = httpx.get(url, params={"download": "1"}).headers["content-disposition"]
    assert attachment == 'attachment; filename="airdate-vening-tv-shows.ics"'
    assert feed.token not in inline + attachment
