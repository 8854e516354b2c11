"""Unknown pages and server errors get a styled page in the web app; feed URLs keep their plain 404.

In real headless Chromium, so "styled" means the stylesheet really applied, not only that HTML came.
The server error is a real one: the feeds table is renamed under the running app.
"""

from __future__ import annotations

import sqlite3

import httpx
from playwright.sync_api import Page, expect

from app.store.secrets import new_feed_token
from tests.fixtures.web import WebApp, screenshot, sign_in

PAGE_BACKGROUND = "rgb(246, 245, 242)"  # --bg in airdate.css


def styled(page: Page) -> bool:
    background: str = page.evaluate("getComputedStyle(document.body).backgroundColor")
    return background == PAGE_BACKGROUND


def test_an_unknown_page_is_a_styled_404_with_a_way_back(page: Page, web_app: WebApp) -> None:
    response = page.goto(web_app.url + "/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert styled(page)
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")
    page.get_by_role("link", name="Go to the start page").click()
    page.wait_for_url(web_app.url + "/")
    screenshot(page, "not-found")


def test_feed_urls_keep_their_plain_identical_404(web_app: WebApp) -> None:
    unknown = httpx.get(f"{web_app.url}/feeds/{new_feed_token()}.ics")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/plain")
    for path in ("/feeds/not-a-token.ics", "/feeds/", "/feeds/x/y", f"/feeds/{new_feed_token()}.json"):
        answer = httpx.get(web_app.url + path)
        assert (answer.status_code, answer.text, answer.headers["content-type"]) == (
            404,
            unknown.text,
            unknown.headers["content-type"],
        ), path


def test_a_server_error_is_a_styled_page(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    database = web_app.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE feeds RENAME TO feeds_elsewhere")
    response = page.goto(web_app.url + "/dashboard")
    assert response is not None and response.status == 500
    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong")
    assert styled(page)
    assert "feeds_elsewhere" not in page.content() and "Traceback" not in page.content()


def test_a_feed_poll_that_fails_gets_a_plain_500_that_names_nothing(web_app: WebApp) -> None:
    """Calendar apps read feed URLs: a failing poll answers the small plain 500, never the styled page,
    a traceback or the token (the lookup fails here: the feeds table is renamed under the app)."""
    database = web_app.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE feeds RENAME TO feeds_elsewhere")
    token = new_feed_token()
    answer = httpx.get(f"{web_app.url}/feeds/{token}.ics")
    assert (answer.status_code, answer.text) == (500, "Internal server error\n")
    assert answer.headers["content-type"].startswith("text/plain")
    assert token not in answer.text and "feeds_elsewhere" not in answer.text


def test_the_favicon_is_served(web_app: WebApp) -> None:
    icon = httpx.get(web_app.url + "/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
