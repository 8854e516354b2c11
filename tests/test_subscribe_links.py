"""The subscribe links, as plain functions: the webcal form is written once and used by the
dashboard and by `airdate demo` alike (the browser tests in test_web_dashboard click them)."""

from __future__ import annotations

from app.web.subscribe import subscribe, webcal_url


def test_the_webcal_url_is_the_feed_url_with_its_scheme_replaced() -> None:
    assert webcal_url("https://airdate.example/feeds/abc.ics") == "webcal://airdate.example/feeds/abc.ics"
    assert webcal_url("http://127.0.0.1:8000/feeds/abc.ics") == "webcal://127.0.0.1:8000/feeds/abc.ics"


def test_apple_gets_webcal_and_google_the_https_url() -> None:
    url = "https://airdate.example/feeds/abc.ics"
    links = subscribe(url, "Shows")
    apps = {app.key: app.href for app in links.apps}
    assert links.webcal == apps["apple"] == webcal_url(url)
    assert (
        apps["google"]
        == "https://calendar.google.com/calendar/render?cid=https%3A%2F%2Fairdate.example%2Ffeeds%2Fabc.ics"
    )
