"""Feedback and flows in real headless Chromium: confirmations where one looks, new feeds, one's data.

Every action ends on a page that says what happened at the feed acted on, with focus moved there and
a live region around it, and says it once: a reload shows nothing again. Deleting one's data is
checked against the sandbox (the grant is revoked there) and against the database file itself.
"""

from __future__ import annotations

import re
import sqlite3

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.web import WebApp, screenshot, sign_in

FEED_PAGE = re.compile(r"/dashboard\?feed=\d+#notice$")


def assert_confirmed_at_the_feed(page: Page, name: str, words: str) -> None:
    """The notice sits in the open feed's panel, has focus, is a polite live region, and is in view."""
    notice = page.locator("article.feed #notice")
    expect(notice).to_contain_text(words)
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_have_attribute("aria-live", "polite")
    expect(page.locator("article.feed h2")).to_have_text(name)
    expect(notice).to_be_focused()
    expect(notice).to_be_in_viewport()


def test_save_and_rotate_confirm_at_the_card_once(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    sign_in(page, web_app)
    page.get_by_role("link", name="Edit Shows and movies").click()
    page.get_by_label("Name").fill("Evenings")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(FEED_PAGE)
    assert_confirmed_at_the_feed(page, "Evenings", "Saved “Evenings”")
    page.reload()
    expect(page.locator("#notice")).to_have_count(0)  # said once: not again on reload

    old = web_app.feed_url(page)
    page.get_by_role("link", name="Rotate URL of Evenings").click()
    page.get_by_role("button", name="Rotate URL").click()
    page.wait_for_url(FEED_PAGE)
    assert_confirmed_at_the_feed(page, "Evenings", "Subscribe again with the new URL")
    assert web_app.feed_url(page) != old
    page.reload()
    expect(page.locator("#notice")).to_have_count(0)


def test_new_feed_is_a_form_and_nothing_exists_until_saved(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    sign_in(page, web_app)
    page.get_by_role("link", name="New feed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New feed")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(web_app.url + "/dashboard")
    expect(page.get_by_role("navigation", name="Your feeds")).to_have_count(0)  # still one feed

    page.get_by_role("link", name="New feed").click()
    page.get_by_label("Name").fill("")
    page.get_by_label("Reminder, minutes before").fill("soon")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save and create the feed").click()
    response = navigation.value
    assert response is not None and response.status == 400
    summary = page.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()  # focus moved to the error summary
    expect(summary.get_by_role("link")).to_contain_text(
        ["Name: give the feed a name", "Reminder: 'soon' is not a whole number"]
    )
    summary.get_by_role("link", name=re.compile("^Reminder")).click()
    expect(page.locator("#alarm")).to_be_focused()  # each summary line leads to its field
    page.goto(web_app.url + "/dashboard")
    expect(page.get_by_role("navigation", name="Your feeds")).to_have_count(0)  # the failed save made none

    page.goto(web_app.url + "/dashboard/feeds/new")
    page.get_by_label("Name").fill("Movies only")
    page.get_by_label("Episodes of shows you watch").uncheck()
    page.get_by_role("button", name="Save and create the feed").click()
    page.wait_for_url(FEED_PAGE)
    assert_confirmed_at_the_feed(page, "Movies only", "“Movies only” is ready")
    expect(page.get_by_role("navigation", name="Your feeds").get_by_role("link")).to_have_count(2)


def test_failed_edit_moves_focus_to_the_error_summary(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    sign_in(page, web_app)
    page.get_by_role("link", name="Edit Shows and movies").click()
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Time zone: unknown time zone 'Mars/Olympus'")


def test_repeated_controls_carry_the_feeds_name(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    feed = page.locator("article.feed")
    controls = feed.locator("a.button, button, .more a")
    assert controls.count() >= 10
    for index in range(controls.count()):
        expect(controls.nth(index)).to_have_accessible_name(re.compile(r"Shows and movies$"))


ROWS_OF_USER = {
    "users": "SELECT count(*) FROM users WHERE trakt_slug = :slug",
    "trakt_connections": "SELECT count(*) FROM trakt_connections JOIN users ON users.id = user_id "
    "WHERE trakt_slug = :slug",
    "feeds": "SELECT count(*) FROM feeds JOIN users ON users.id = user_id WHERE trakt_slug = :slug",
    "feed_events": "SELECT count(*) FROM feed_events JOIN feeds ON feeds.id = feed_id "
    "JOIN users ON users.id = feeds.user_id WHERE trakt_slug = :slug",
    "calendar_cache": "SELECT count(*) FROM calendar_cache JOIN users ON users.id = user_id "
    "WHERE trakt_slug = :slug",
}


def rows_of_user(database: str, slug: str) -> dict[str, int]:
    """Rows each per-user table holds for the user, read from the SQLite file itself."""
    with sqlite3.connect(database) as db:
        return {
            table: db.execute(query, {"slug": slug}).fetchone()[0] for table, query in ROWS_OF_USER.items()
        }


def test_disconnect_and_delete_my_data(browser: Browser, each_width: Page, web_app: WebApp) -> None:
    page = each_width
    sign_in(page, web_app)
    database = web_app.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    first = web_app.feed_url(page)
    httpx.get(first.removesuffix(".ics") + ".json")  # poll once, so there is history to delete
    page.goto(web_app.url + "/dashboard/feeds/new")
    page.get_by_label("Name").fill("Second")
    page.get_by_role("button", name="Save and create the feed").click()
    page.wait_for_url(FEED_PAGE)
    second = web_app.feed_url(page)
    assert all(rows_of_user(database, "demo").values())

    page.get_by_role("link", name="Disconnect Trakt and delete my data…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Disconnect Trakt and delete your data?")
    expect(page.locator("main")).to_contain_text("“Shows and movies”, “Second”")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(web_app.url + "/dashboard")
    assert httpx.get(first).status_code == 200  # cancelled: nothing happened
    assert web_app.sandbox.state.count("/oauth/revoke") == 0

    page.get_by_role("link", name="Disconnect Trakt and delete my data…").click()
    page.get_by_role("button", name="Disconnect and delete everything").click()
    page.wait_for_url(web_app.url + "/#notice")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("everything Airdate stored about you is deleted")
    expect(notice).to_contain_text("Your feed URLs now answer “not found”")
    expect(notice).to_be_focused()
    screenshot(page, f"deleted-{page.viewport_size['width'] if page.viewport_size else 0}")

    assert web_app.sandbox.state.count("/oauth/revoke") == 1
    assert not any(token.valid for token in web_app.sandbox.state.auth.tokens.values())
    unknown = httpx.get(first.rsplit("/", 1)[0] + "/" + "A" * 43 + ".ics")
    for url in (first, second, first.removesuffix(".ics") + ".json"):
        gone = httpx.get(url)
        assert (gone.status_code, gone.text) == (404, unknown.text)  # the same answer as for no feed
    assert rows_of_user(database, "demo") == dict.fromkeys(ROWS_OF_USER, 0)

    page.reload()
    expect(page.locator("#notice")).to_have_count(0)
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/"  # signed out: the session's user is gone


def test_a_repeated_delete_request_ends_on_the_same_page(page: Page, web_app: WebApp) -> None:
    """A double click sends the POST twice with the same cookie; the second finds no user left and
    is answered as signed out: the same landing page, nothing revoked or deleted twice."""
    sign_in(page, web_app)
    csrf = page.locator("form.signout input[name=csrf]").input_value()
    cookies = page.context.cookies()
    first = page.request.post(web_app.url + "/dashboard/delete", form={"csrf": csrf}, max_redirects=0)
    assert (first.status, first.headers["location"]) == (303, "/#notice")
    # the second click still carries the old session
    page.context.add_cookies([{"name": c["name"], "value": c["value"], "url": web_app.url} for c in cookies])
    second = page.request.post(web_app.url + "/dashboard/delete", form={"csrf": csrf}, max_redirects=0)
    assert (second.status, second.headers["location"]) == (303, "/")
    assert web_app.sandbox.state.count("/oauth/revoke") == 1
