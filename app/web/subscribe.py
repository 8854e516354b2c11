"""One click from a feed URL into each calendar app, a QR code for the phone, and how often each refreshes.

Why these link forms (checked against public reports, December 2026):
- Apple Calendar (and Outlook desktop, Thunderbird): `webcal://`, which the OS hands to the calendar app.
- Google Calendar: `calendar.google.com/calendar/render?cid=<https URL>`. Undocumented and it has
  flip-flopped; the most recent report (afterclass-io/afterclass.io#498, Aug 2026) found that Google
  stores the `cid` URL verbatim, so a `webcal://` value subscribes to an empty calendar while the https
  URL fills it. Another (gpu-mode/kernelboard#256, Jul 2026) saw the shortcut refused outright, so the
  copy-and-paste "From URL" steps stay visible beside the button.
- Outlook.com and Microsoft 365: Outlook on the web's `calendar/0/addfromweb?url=…&name=…`, on
  outlook.live.com for personal accounts and outlook.office.com for work or school ones.
The refresh lines follow the same kind of reports (Google's help: "up to 12 hours", field reports of a
day; Outlook.com every few hours, not adjustable; Apple the person's own setting).

The QR code is drawn here as inline SVG with segno (pure Python, no dependencies), so the page loads
nothing from anyone else and works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlencode

import segno

GOOGLE_FROM_URL = "https://calendar.google.com/calendar/r/settings/addbyurl"


@dataclass(frozen=True, slots=True)
class CalendarApp:
    key: str
    name: str
    href: str
    refresh: str
    download: bool = False


@dataclass(frozen=True, slots=True)
class Subscribe:
    https: str
    webcal: str
    apps: tuple[CalendarApp, ...]
    google_from_url: str = GOOGLE_FROM_URL

    @property
    def qr_svg(self) -> str:
        return qr_svg(self.webcal)


def subscribe(url: str, name: str) -> Subscribe:
    """Every way to subscribe to the feed at `url` (https or http), named `name` where an app asks."""
    webcal = webcal_url(url)
    add_from_web = urlencode({"url": url, "name": name}, quote_via=quote)
    return Subscribe(
        https=url,
        webcal=webcal,
        apps=(
            CalendarApp(
                "apple",
                "Apple Calendar",
                webcal,
                "Refreshes as often as you set it (every 5 minutes to weekly) in the calendar's Get Info; "
                "on iPhone as Fetch New Data says.",
            ),
            CalendarApp(
                "google",
                "Google Calendar",
                "https://calendar.google.com/calendar/render?" + urlencode({"cid": url}),
                "Refreshes on Google's own schedule, about every 12 to 24 hours; it cannot be made faster.",
            ),
            CalendarApp(
                "outlook",
                "Outlook.com",
                "https://outlook.live.com/calendar/0/addfromweb?" + add_from_web,
                "Refreshes every few hours (about 3); Outlook does not let you change it.",
            ),
            CalendarApp(
                "office",
                "Microsoft 365",
                "https://outlook.office.com/calendar/0/addfromweb?" + add_from_web,
                "Refreshes every few hours; classic Outlook for Windows follows the feed's suggested "
                "interval.",
            ),
            CalendarApp(
                "download",
                "Download .ics",
                url + "?download=1",
                "A one-time copy for importing: it never refreshes.",
                download=True,
            ),
        ),
    )


def webcal_url(url: str) -> str:
    """The feed's https (or http) URL as `webcal://`, the scheme the OS hands to its calendar app."""
    return "webcal://" + url.split("://", 1)[1]


@lru_cache(maxsize=256)
def qr_svg(text: str) -> str:
    """`text` as an inline SVG QR code (medium error correction, so a phone reads it off a screen)."""
    code = segno.make(text, error="m", micro=False)
    svg: str = code.svg_inline(scale=4, border=2, dark="#1d1d1f", light="#ffffff", omitsize=False)
    return svg
