"""The web app in a real headless Chromium: sign in with Trakt (the sandbox), sessions, manage feeds.

Everything is real: the app under uvicorn on 127.0.0.1, the sandbox's OAuth pages (they auto-approve
and redirect back, so sign-in runs offline), a migrated database, and Debian's Chromium driven by
Playwright (fixtures in `tests.fixtures.web`). Feed URLs taken from the page are fetched with httpx to
prove they serve calendars. The dashboard itself (coming up, subscribe) is `test_web_dashboard.py`;
confirmations, new feeds and deleting one's data are `test_web_flows.py`.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import Browser, Page, expect

from app.store.secrets import Vault
from app.web.app import create_app
from app.web.session import LOGIN_COOKIE, LOGIN_LIFETIME, SESSION_COOKIE, SESSION_LIFETIME
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.web import FEED_URL, WebApp, sign_in
from tests.support.server import serve
from tests.support.settings import sandbox_settings


def test_edit_options_shows_errors_by_the_field_and_saves_only_valid_input(
    page: Page, web_app: WebApp
) -> None:
    sign_in(page, web_app)
    url = web_app.feed_url(page)
    page.get_by_role("link", name="Edit Shows and movies").click()

    page.get_by_label("Show episodes as all-day events").check()
    page.get_by_label("Reminder, minutes before").fill("soon")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_label("Episodes of shows you watch").uncheck()
    page.get_by_label("Movies in cinemas").uncheck()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save").click()
    response = navigation.value
    assert response is not None and response.status == 400
    expect(page.locator("#alarm-error")).to_contain_text("'soon' is not a whole number")
    expect(page.get_by_label("Reminder, minutes before")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#tz-error")).to_contain_text("unknown time zone 'Mars/Olympus'")
    expect(page.locator("#sources-error")).to_have_text("choose at least one")
    expect(page.locator("#all_day-error")).to_have_count(0)
    expect(page.get_by_label("Show episodes as all-day events")).to_be_checked()  # kept as typed
    assert httpx.get(url.removesuffix(".ics") + ".json").json()["options"]["all_day"] is False

    page.get_by_label("Episodes of shows you watch").check()
    page.get_by_label("Reminder, minutes before").fill("30")
    page.get_by_label("Time zone").fill("")
    page.get_by_label("Name").fill("Evenings")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/dashboard\?feed=\d+#notice$"))
    expect(page.locator("#notice")).to_contain_text("Saved “Evenings”")
    summary = page.locator("article.feed .summary")
    expect(summary).to_contain_text("episodes as all-day events")
    expect(summary).to_contain_text("reminder 30 minutes before")
    expect(page.locator("article.feed h2")).to_have_text("Evenings")
    options = httpx.get(url.removesuffix(".ics") + ".json").json()["options"]
    assert (options["all_day"], options["alarm"], options["tz"]) == (True, 30, None)
    assert options["sources"] == ["shows"]
    body = httpx.get(url).text  # all-day episodes: the reminder is 30 minutes before the local air time
    assert body.count("BEGIN:VALARM") == body.count("BEGIN:VEVENT") > 0


def test_rotate_gives_a_new_url_and_kills_the_old_one(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    old = web_app.feed_url(page)
    page.get_by_role("link", name="Rotate URL of Shows and movies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rotate this feed's URL?")
    page.get_by_role("button", name="Rotate URL").click()
    page.wait_for_url(re.compile(r"/dashboard\?feed=\d+#notice$"))
    new = web_app.feed_url(page)
    assert new != old
    assert httpx.get(old).status_code == 404
    assert httpx.get(new).status_code == 200


def test_new_feed_then_revoke_the_first(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    first = web_app.feed_url(page)
    page.get_by_role("link", name="New feed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New feed")
    page.get_by_label("Name").fill("Movies only")
    page.get_by_label("Episodes of shows you watch").uncheck()
    page.get_by_role("button", name="Save and create the feed").click()
    page.wait_for_url(re.compile(r"/dashboard\?feed=\d+#notice$"))
    switcher = page.get_by_role("navigation", name="Your feeds")
    expect(switcher.get_by_role("link")).to_have_count(2)
    expect(page.locator("article.feed h2")).to_have_text("Movies only")  # the new one is open
    second = web_app.feed_url(page)
    assert httpx.get(second.removesuffix(".ics") + ".json").json()["options"]["sources"] == ["movies"]

    switcher.get_by_role("link", name=re.compile("^Shows and movies")).click()
    page.get_by_role("link", name="Revoke Shows and movies").click()
    page.get_by_role("button", name="Revoke feed").click()
    page.wait_for_url(re.compile(r"/dashboard#notice$"))
    expect(page.locator("#notice")).to_contain_text("“Shows and movies” is revoked")
    expect(page.locator("article.feed h2")).to_have_text("Movies only")
    expect(page.get_by_role("navigation", name="Your feeds")).to_have_count(0)  # one feed: no switcher
    assert httpx.get(first).status_code == 404
    assert httpx.get(second).status_code == 200


def test_sign_out_then_the_dashboard_sends_you_to_the_landing_page(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(web_app.url + "/")
    expect(page.get_by_role("link", name="Sign in with Trakt")).to_be_visible()
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/"


def start_sign_in(page: Page, app: WebApp) -> str:
    """Begin a sign-in in the page's cookie jar but stop before Trakt; return the `state` sent there."""
    response = page.request.get(app.url + "/auth/login", max_redirects=0)
    assert response.status == 302
    location = response.headers["location"]
    assert location.startswith(app.sandbox.url + "/oauth/authorize?")
    return parse_qs(urlsplit(location).query)["state"][0]


def test_callback_refuses_a_wrong_expired_or_refused_state_before_any_token_exchange(
    page: Page, web_app: WebApp
) -> None:
    callback = web_app.url + "/auth/callback"

    state = start_sign_in(page, web_app)
    response = page.goto(f"{callback}?code=stolen&state=not-{state}")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in link is not valid")
    expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", "/auth/login")

    state = start_sign_in(page, web_app)
    web_app.sandbox.clock.advance(LOGIN_LIFETIME.total_seconds() + 1)
    response = page.goto(f"{callback}?code=whatever&state={state}")
    assert response is not None and response.status == 400

    state = start_sign_in(page, web_app)
    response = page.goto(f"{callback}?error=access_denied&state={state}")
    assert response is not None and response.status == 400
    expect(page.locator("main")).to_contain_text("access_denied")

    assert web_app.sandbox.state.count("/oauth/token") == 0
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/"  # none of it signed anyone in


def test_trakt_failing_the_exchange_is_a_friendly_502(page: Page, web_app: WebApp) -> None:
    web_app.sandbox.state.add_faults([{"prefix": "/oauth/token", "status": 500}])
    page.goto(web_app.url + "/")
    with page.expect_navigation(url=re.compile(r"/auth/callback")) as navigation:
        page.get_by_role("link", name="Sign in with Trakt").click()
    response = navigation.value
    assert response is not None and response.status == 502
    expect(page.get_by_role("link", name="Try again")).to_be_visible()

    web_app.sandbox.state.faults.clear()
    page.get_by_role("link", name="Try again").click()
    page.wait_for_url(web_app.url + "/dashboard")


def test_posts_without_the_csrf_token_are_refused(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    url = web_app.feed_url(page)
    feed_id = page.locator("article.feed").get_attribute("id")
    assert feed_id is not None
    rotate = f"{web_app.url}/dashboard/feeds/{feed_id.removeprefix('feed-')}/rotate"
    assert page.request.post(rotate, form={}).status == 403
    assert page.request.post(rotate, form={"csrf": "guessed"}).status == 403
    assert page.request.post(web_app.url + "/auth/logout", form={}).status == 403
    assert page.request.post(web_app.url + "/dashboard/feeds", form={"name": "Sneaky"}).status == 403
    assert page.request.post(web_app.url + "/dashboard/delete", form={}).status == 403
    assert httpx.get(url).status_code == 200  # not rotated, not deleted
    page.reload()
    expect(page.locator("article.feed")).to_have_count(1)  # no feed created, still signed in
    expect(page.get_by_role("navigation", name="Your feeds")).to_have_count(0)


def test_a_non_ascii_state_or_csrf_token_is_refused_like_any_wrong_one(page: Page, web_app: WebApp) -> None:
    """Both come from a URL or form anyone can craft; compared as text, a non-ASCII one was a 500."""
    start_sign_in(page, web_app)
    response = page.goto(web_app.url + "/auth/callback?code=whatever&state=%C3%A9")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in link is not valid")

    sign_in(page, web_app)
    for path in ("/auth/logout", "/dashboard/feeds", "/dashboard/delete"):
        assert page.request.post(web_app.url + path, form={"csrf": "é"}).status == 403, path
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/dashboard"  # still signed in, nothing deleted


def test_trakt_down_shows_a_message_instead_of_posters(page: Page, web_app: WebApp) -> None:
    web_app.sandbox.state.add_faults([{"prefix": "/calendars", "status": 500}])
    sign_in(page, web_app)
    expect(page.locator("article.feed .upcoming")).to_contain_text("Trakt can't be reached right now")
    expect(page.locator("li.card")).to_have_count(0)
    assert FEED_URL.match(web_app.feed_url(page))


def test_a_revoked_grant_shows_the_reconnect_banner_until_signed_in_again(
    page: Page, web_app: WebApp
) -> None:
    sign_in(page, web_app)
    expect(page.get_by_role("link", name="Reconnect Trakt")).to_have_count(0)
    web_app.sandbox.state.auth.revoke_user("demo")
    web_app.sandbox.clock.advance(timedelta(days=8).total_seconds())  # past the access token's life
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("no longer accepts Airdate's access")
    page.get_by_role("link", name="Reconnect Trakt").click()
    page.wait_for_url(web_app.url + "/dashboard")
    expect(page.get_by_role("link", name="Reconnect Trakt")).to_have_count(0)


def test_the_session_cookie_holds_only_the_account_and_csrf_and_is_locked_down(
    page: Page, web_app: WebApp
) -> None:
    sign_in(page, web_app)
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
    # The browser keeps the value as sent: quoted whenever the Fernet token ends in "=" padding,
    # which depends on the payload's length (a float timestamp), so read it as a server would.
    value = SimpleCookie(f"{SESSION_COOKIE}={cookie['value']}")[SESSION_COOKIE].value
    sealed = json.loads(Vault(web_app.settings.secret_keys).decrypt(value))
    assert set(sealed) == {"purpose", "issued_at", "user_id", "account", "csrf"}  # never a Trakt token
    issued = web_app.sandbox.state.auth.tokens.values()
    secrets = {token.access_token for token in issued} | {token.refresh_token for token in issued}
    html = page.content()
    assert secrets and not any(secret in html for secret in secrets)


def test_a_sign_in_cookie_is_not_a_session_and_sessions_end_after_30_days(
    page: Page, web_app: WebApp
) -> None:
    start_sign_in(page, web_app)
    sign_in_cookie = next(c for c in page.context.cookies() if c["name"] == LOGIN_COOKIE)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": sign_in_cookie["value"], "url": web_app.url}])
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/"

    sign_in(page, web_app)
    web_app.sandbox.clock.advance(SESSION_LIFETIME.total_seconds() - 60)
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/dashboard"
    web_app.sandbox.clock.advance(120)
    page.goto(web_app.url + "/dashboard")
    assert page.url == web_app.url + "/"


def test_cookies_are_secure_when_the_public_url_is_https(
    sqlite_template: Path, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(sqlite_template, database)
    settings = sandbox_settings(f"sqlite+aiosqlite:///{database}", sandbox.url, "https://airdate.example")
    with serve(create_app(settings, clock=sandbox.clock, background=False)) as url:
        response = httpx.get(url + "/auth/login")
    assert response.status_code == 302
    assert "redirect_uri=https%3A%2F%2Fairdate.example%2Fauth%2Fcallback" in response.headers["location"]
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_everything_works_without_javascript(browser: Browser, web_app: WebApp) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, web_app)
        expect(page.get_by_role("button", name="Copy")).to_be_hidden()  # nothing to click that can't work
        assert httpx.get(web_app.feed_url(page)).status_code == 200
        page.get_by_role("link", name="New feed").click()
        page.get_by_label("Name").fill("No script")
        page.get_by_role("button", name="Save and create the feed").click()
        expect(page.locator("article.feed h2")).to_have_text("No script")
        expect(page.locator("#notice")).to_contain_text("“No script” is ready")
        switcher = page.get_by_role("navigation", name="Your feeds")
        switcher.get_by_role("link", name=re.compile("^Shows")).click()
        expect(page.locator("article.feed h2")).to_have_text("Shows and movies")
    finally:
        context.close()


def test_someone_elses_feed_is_not_found(browser: Browser, page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    url = web_app.feed_url(page)
    feed_id = (page.locator("article.feed").get_attribute("id") or "").removeprefix("feed-")
    web_app.sandbox.state.configure({"next_user": {"slug": "mallory", "timezone": "Europe/Berlin"}})
    context = browser.new_context()
    try:
        other = context.new_page()
        sign_in(other, web_app)
        expect(other.locator("article.feed")).to_have_count(1)
        assert web_app.feed_url(other) != url
        response = other.goto(f"{web_app.url}/dashboard/feeds/{feed_id}/edit")
        assert response is not None and response.status == 404
        csrf = other.locator("form.signout input[name=csrf]").input_value()
        rotate = other.request.post(f"{web_app.url}/dashboard/feeds/{feed_id}/rotate", form={"csrf": csrf})
        assert rotate.status == 404
    finally:
        context.close()
    assert httpx.get(url).status_code == 200
