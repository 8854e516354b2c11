"""Connection health on the dashboard, in real headless Chromium against the sandbox.

A revoked grant must show even when every calendar chunk is fresh and no feed request touches Trakt
(the dashboard asks `/users/settings` itself, at most every few minutes), and a Trakt outage shows a
quiet note saying how old the calendars are, and goes away once Trakt answers again.
"""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from app.web.trakt_health import CHECK_EVERY
from tests.fixtures.web import WebApp, sign_in

SETTINGS = "/users/settings"
CALENDARS = "/calendars/"
NOTE = "p.quiet-note"


def reload_until(page: Page, selector: str, present: bool, within: float = 10.0) -> None:
    """Reload until `selector` is (or is no longer) on the page: background refreshes run in real time."""
    deadline = time.monotonic() + within
    while (page.locator(selector).count() > 0) != present:
        assert time.monotonic() < deadline, f"{selector} still {'absent' if present else 'present'}"
        time.sleep(0.1)
        page.reload()


def test_a_revoked_grant_shows_without_any_feed_request(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    state = web_app.sandbox.state
    sign_in(page, web_app)
    settings_calls = state.count(SETTINGS)
    calendar_calls = state.count(CALENDARS)
    page.reload()
    page.reload()
    assert state.count(SETTINGS) == settings_calls  # checked at most every few minutes

    state.auth.revoke_user("demo")
    web_app.sandbox.clock.advance(CHECK_EVERY.total_seconds() + 1)  # chunks still fresh, token unexpired
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("no longer accepts Airdate's access")
    expect(page.get_by_role("link", name="Reconnect Trakt")).to_be_visible()
    assert state.count(SETTINGS) == settings_calls + 1  # one cheap call
    assert state.count(CALENDARS) == calendar_calls  # and no calendar request noticed it

    page.get_by_role("link", name="Reconnect Trakt").click()
    page.wait_for_url(web_app.url + "/dashboard")
    expect(page.get_by_role("link", name="Reconnect Trakt")).to_have_count(0)


def test_a_trakt_outage_shows_how_old_the_calendars_are(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    sign_in(page, web_app)  # 12:00 UTC: 07:00 for the sandbox's New York user
    expect(page.locator(NOTE)).to_have_count(0)
    web_app.sandbox.state.add_faults([{"prefix": CALENDARS, "status": 500}])
    web_app.sandbox.clock.advance(hours=2)  # every chunk stale: refreshed behind the page, and failing
    reload_until(page, NOTE, present=True)
    expect(page.locator(NOTE)).to_contain_text(
        "Trakt is having trouble; your calendars show what we had at 07:00."
    )
    expect(page.locator("li.card").first).to_be_visible()  # the last good data is still shown
    expect(page.get_by_role("link", name="Reconnect Trakt")).to_have_count(0)

    web_app.sandbox.state.faults.clear()
    web_app.sandbox.clock.advance(hours=1)  # past the outage backoff
    reload_until(page, NOTE, present=False)
