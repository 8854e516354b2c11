"""Unknown pages and server errors get a styled page in the web app; feed URLs keep their plain 404.

In real headless Chromium, so "styled" means the stylesheet really applied, not only that HTML came.
The server error is a real one: the feeds table is renamed under the running app. Numbers in the
URL that no feed can have run on both backends, whose id columns end at different places.
"""

from __future__ import annotations

import re
import sqlite3

import httpx
from playwright.sync_api import Page, expect

from app.store.secrets import new_feed_token
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.web import WebApp, csrf_of, screenshot, sign_in, web_sign_in

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


TOO_BIG = ("2147483648", "99999999999999999999")  # past PostgreSQL's int4, past SQLite's int64


def open_feed(answer: httpx.Response) -> str:
    found = re.search(r'<article class="feed[^"]*" id="(feed-\d+)"', answer.text)
    assert answer.status_code == 200 and found, answer.status_code
    return found.group(1)


def test_a_feed_number_no_feed_can_have_is_not_found(
    running_app: RunningApp, sandbox: RunningSandbox
) -> None:
    """A number past the id column's range was a database error and a digit outside 0-9 (²) one from
    int(): each a 500. They are misses like any unknown feed: the feed pages' 404, the dashboard's
    first feed."""
    client = web_sign_in(running_app.url, sandbox, "demo")
    csrf = csrf_of(client)
    for number in TOO_BIG:
        for action in ("edit", "rotate", "revoke"):
            path = f"/dashboard/feeds/{number}/{action}"
            for answer in (client.get(path), client.post(path, data={"csrf": csrf})):
                assert answer.status_code == 404, path
                assert "No such feed" in answer.text
    unknown = open_feed(client.get("/dashboard?feed=12345"))
    for odd in ("%C2%B2", "%D9%A1", *TOO_BIG):
        assert open_feed(client.get(f"/dashboard?feed={odd}")) == unknown, odd
