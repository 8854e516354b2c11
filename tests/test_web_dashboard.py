"""The dashboard in real headless Chromium: "Coming up" agrees with the feed, subscribe links, layout.

The feed served to calendar apps is the reference: every card must be one of its events (same UID,
same Trakt link, same day in the feed's zone) and every event still to come must be a card. Heights
are measured in the browser at desktop and phone widths; screenshots land in build/screenshots.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import icalendar
from playwright.sync_api import Browser, Page, expect

from app.web.subscribe import qr_svg
from app.web.upcoming import day_label
from tests.fixtures.web import DESKTOP, PHONE, WebApp, screenshot, sign_in
from tests.support.png import differing_share

FEW_HUNDRED_PX = 300


def feed_zone(page: Page) -> ZoneInfo:
    summary = page.locator("article.feed .summary").inner_text()
    found = re.search(r"times in (?:your Trakt time zone \()?([A-Za-z_/]+)\)?$", summary)
    assert found, summary
    return ZoneInfo(found.group(1))


def events_still_to_come(body: bytes, now: datetime, zone: ZoneInfo) -> list[icalendar.Event]:
    """The feed's entries (not its service notices) that have not ended, in the feed's order."""
    today = now.astimezone(zone).date()
    kept = []
    for event in icalendar.Calendar.from_ical(body).events:
        if str(event["UID"]).startswith("notice-"):
            continue
        end = event.end
        if end > now if isinstance(end, datetime) else end > today:
            kept.append(event)
    return kept


def local_day(event: icalendar.Event, zone: ZoneInfo) -> date:
    start = event.start
    return start.astimezone(zone).date() if isinstance(start, datetime) else start


def test_coming_up_shows_exactly_the_feeds_events_under_local_day_headings(
    each_width: Page, web_app: WebApp
) -> None:
    page = each_width
    sign_in(page, web_app)
    zone = feed_zone(page)
    url = web_app.feed_url(page)
    now = web_app.sandbox.clock()
    expected = events_still_to_come(httpx.get(url).content, now, zone)
    assert len(expected) > 30  # the sandbox's window is longer than the first screenful

    cards = page.locator("li.card")
    assert 12 < cards.count() < len(expected)  # not cut at 12, and the rest one link away
    page.get_by_role("link", name="Show all 92 coming up in Shows and movies").click()
    expect(cards).to_have_count(len(expected))
    assert cards.evaluate_all("cards => cards.map(c => c.dataset.uid)") == [str(e["UID"]) for e in expected]

    today = now.astimezone(zone).date()
    days = page.locator("section.day")
    headings = days.locator("h4").all_inner_texts()
    expected_days = sorted({local_day(event, zone) for event in expected})
    assert headings == [day_label(day, today) for day in expected_days]
    assert headings[:2] == ["Today", "Tomorrow"]
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}", headings[2])

    by_uid = {str(event["UID"]): event for event in expected}
    for index in range(days.count()):
        day = days.nth(index)
        iso = day.locator("h4 time").get_attribute("datetime")
        for uid in day.locator("li.card").evaluate_all("cards => cards.map(c => c.dataset.uid)"):
            assert local_day(by_uid[uid], zone).isoformat() == iso

    drop = page.locator("li.card", has_text="S02E01–E08")  # the sandbox's binge drop: one card
    expect(drop).to_have_count(1)
    expect(drop.locator(".mark")).to_have_text(["Season premiere", "Season finale"])
    drop_event = by_uid[drop.get_attribute("data-uid") or ""]
    assert drop.locator("a.card-link").get_attribute("href") == str(drop_event["URL"])
    assert drop.locator(".title").inner_text() in str(drop_event["SUMMARY"])
    expect(page.locator("li.card .mark", has_text="Series premiere").first).to_be_visible()
    movie = page.locator("li.card", has=page.locator(".mark", has_text="Theatrical release")).first
    expect(movie.locator("a.card-link")).to_have_attribute("href", re.compile(r"^https://trakt\.tv/movies/"))
    expect(movie.locator(".when")).to_have_count(0)  # a release is a day, not a time


def test_coming_up_follows_the_feeds_options(page: Page, web_app: WebApp) -> None:
    """All-day episodes in another zone, drops not grouped: the cards change exactly as the feed does."""
    sign_in(page, web_app)
    page.get_by_role("link", name="Edit Shows and movies").click()
    page.get_by_label("Show episodes as all-day events").check()
    page.get_by_label("Group same-day drops").uncheck()
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    page.goto(web_app.url + "/dashboard?all=1")
    zone = feed_zone(page)
    assert zone.key == "Asia/Tokyo"
    now = web_app.sandbox.clock()
    expected = events_still_to_come(httpx.get(web_app.feed_url(page)).content, now, zone)
    cards = page.locator("li.card")
    assert cards.evaluate_all("cards => cards.map(c => c.dataset.uid)") == [str(e["UID"]) for e in expected]
    expect(page.locator("li.card", has_text="S02E01–E08")).to_have_count(0)
    drop = page.locator("li.card", has_text=re.compile(r" S02E0[1-8]\b"))
    expect(drop).to_have_count(8)  # the drop is eight events now, so eight cards
    expect(page.locator("li.card .when")).to_have_count(0)  # all-day: no times on any card
    headings = page.locator("section.day h4").all_inner_texts()
    today = now.astimezone(zone).date()
    assert headings == [day_label(day, today) for day in sorted({local_day(e, zone) for e in expected})]


def test_coming_up_is_a_scrolling_row_of_two_by_three_posters(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    sign_in(page, web_app)
    row = page.get_by_role("region", name="Coming up in Shows and movies, by day")
    style = row.evaluate("r => { const s = getComputedStyle(r); return [s.overflowX, s.scrollSnapType] }")
    assert style[0] == "auto" and style[1].startswith("x")
    assert row.evaluate("r => r.scrollWidth > r.clientWidth")  # more to the right than fits
    snapped = page.locator("li.card").first.evaluate("c => getComputedStyle(c).scrollSnapAlign")
    assert snapped == "start"

    image = page.locator("li.card .poster img").first
    poster = re.escape(web_app.sandbox.url) + r"/t/p/w500/[0-9a-f]{27}\.jpg"
    assert re.fullmatch(poster, image.get_attribute("src") or "")
    image.scroll_into_view_if_needed()
    # The CSP let it load: waits until the poster has pixels, and fails on timeout if it never does.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    box = page.locator("li.card .poster").first.bounding_box()
    assert box is not None and abs(box["height"] / box["width"] - 1.5) < 0.02

    if page.viewport_size == DESKTOP:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "dashboard-desktop")  # the README's picture, before any scrolling
    row.focus()  # the row is reachable by keyboard and scrolls with the arrow keys
    page.keyboard.press("ArrowRight")
    page.wait_for_function("r => r.scrollLeft > 0", arg=row.element_handle())


def test_a_poster_that_fails_falls_back_to_its_title_without_javascript(
    browser: Browser, web_app: WebApp
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.route(web_app.sandbox.url + "/t/p/**", lambda route: route.abort())
        sign_in(page, web_app)
        uid = page.locator("li.card", has=page.locator("img")).first.get_attribute("data-uid")
        card = page.locator(f"li.card[data-uid='{uid}']")
        image = card.locator("img")
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") == 0  # it really failed
        expect(card.locator(".placeholder")).to_have_text(card.locator(".title").inner_text())
        poster = card.locator(".poster")
        failed = poster.screenshot()
        image.evaluate("img => img.remove()")
        # The failed image shows what a card without a poster shows: no broken-image icon (about 1% of
        # the poster) and the title; anti-aliasing may differ in a few pixels.
        assert differing_share(failed, poster.screenshot()) < 0.002
    finally:
        context.close()


def test_each_calendar_app_is_one_click_with_its_refresh_line(each_width: Page, web_app: WebApp) -> None:
    page = each_width
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_app.url)
    sign_in(page, web_app)
    url = web_app.feed_url(page)
    webcal = "webcal://" + url.removeprefix("http://")
    subscribe = page.get_by_role("region", name="Subscribe")

    def href(app: str) -> str:
        link = subscribe.get_by_role("link", name=f"{app} – Shows and movies")
        expect(link).to_be_visible()
        value = link.get_attribute("href")
        assert value is not None
        return value

    assert href("Apple Calendar") == webcal
    google = href("Google Calendar")
    assert google.startswith("https://calendar.google.com/calendar/render?")
    assert parse_qs(urlsplit(google).query) == {"cid": [url]}  # https, not webcal: see app/subscribe.py
    for app, host in (("Outlook.com", "outlook.live.com"), ("Microsoft 365", "outlook.office.com")):
        link = href(app)
        assert link.startswith(f"https://{host}/calendar/0/addfromweb?")
        assert parse_qs(urlsplit(link).query) == {"url": [url], "name": ["Shows and movies"]}
    download = href("Download .ics")
    assert download == url + "?download=1"
    assert httpx.get(download).headers["content-disposition"].startswith("attachment;")
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.text.startswith("BEGIN:VCALENDAR")

    for key, words in (
        ("apple", "as often as you set it"),
        ("google", "12 to 24 hours"),
        ("outlook", "every few hours"),
        ("office", "every few hours"),
        ("download", "never refreshes"),
    ):
        line = page.locator(f"[id$='-{key}-refresh']")
        expect(line).to_be_visible()
        expect(line).to_contain_text(words)

    page.get_by_text("Add it by hand").click()
    by_hand = page.get_by_role("link", name="Google Calendar › Settings › Add calendar › From URL")
    expect(by_hand).to_be_visible()

    copy = subscribe.get_by_role("button", name="Copy the webcal URL of Shows and movies")
    copy.click()
    expect(subscribe.locator(".copied")).to_have_text("Copied webcal URL.")
    assert page.evaluate("navigator.clipboard.readText()") == webcal
    subscribe.get_by_role("button", name="Copy the feed URL of Shows and movies").click()
    expect(subscribe.locator(".copied")).to_have_text("Copied http URL.")
    assert page.evaluate("navigator.clipboard.readText()") == url


def test_the_qr_code_is_the_webcal_url_drawn_on_the_server(browser: Browser, web_app: WebApp) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        sign_in(page, web_app)
        webcal = page.locator("input.url.webcal").input_value()
        code = page.get_by_role("img", name="QR code of the webcal URL of Shows and movies")
        expect(code).to_be_visible()
        modules = re.compile(r'class="qrline"[^>]* d="([^"]+)"')  # the dark modules, as one SVG path
        drawn = modules.search(code.inner_html())
        assert drawn is not None and modules.findall(qr_svg(webcal)) == [drawn.group(1)]
        box = code.bounding_box()
        assert box is not None and box["width"] >= 120  # big enough for a phone camera
        own = (web_app.url, web_app.sandbox.url)  # the app, and the sandbox standing in for TMDB and Trakt
        assert requested and all(url.startswith(own) for url in requested)
    finally:
        context.close()


def make_feeds(page: Page, app: WebApp, names: list[str]) -> None:
    for name in names:
        page.goto(app.url + "/dashboard/feeds/new")
        page.get_by_label("Name").fill(name)
        page.get_by_role("button", name="Save and create the feed").click()
        page.wait_for_url(re.compile(r"/dashboard\?feed=\d+#notice$"))


def page_height(page: Page, url: str) -> int:
    page.goto(url)
    height: int = page.evaluate("document.documentElement.scrollHeight")
    return height


def test_one_feed_open_at_a_time_keeps_the_page_short(page: Page, web_app: WebApp) -> None:
    sign_in(page, web_app)
    one = page_height(page, web_app.url + "/dashboard")
    make_feeds(page, web_app, ["Movies only", "Premieres"])
    three = page_height(page, web_app.url + "/dashboard")
    assert three - one <= FEW_HUNDRED_PX, (one, three)
    switcher = page.get_by_role("navigation", name="Your feeds")
    lines = switcher.get_by_role("link")
    expect(lines).to_have_count(3)
    for index in range(3):
        box = lines.nth(index).bounding_box()
        assert box is not None and box["height"] < 40  # one line each
    expect(page.locator("article.feed")).to_have_count(1)
    expect(switcher.locator("[aria-current=page]")).to_contain_text("Shows and movies")
    switcher.get_by_role("link", name=re.compile("^Premieres")).click()
    expect(page.locator("article.feed h2")).to_have_text("Premieres")
    expect(switcher.locator("[aria-current=page]")).to_contain_text("Premieres")
    screenshot(page, "dashboard-three-feeds")


def test_on_a_phone_one_feed_fits_in_about_two_screens(phone: Page, web_app: WebApp) -> None:
    sign_in(phone, web_app)
    height = phone.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * PHONE["height"], height
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways page
    expect(phone.get_by_role("link", name="Apple Calendar – Shows and movies")).to_be_visible()
    expect(phone.locator(".qr")).to_be_hidden()  # the phone is where one subscribes: no code to scan
    screenshot(phone, "dashboard-phone")
