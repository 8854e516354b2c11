"""Debian's Chromium, headless, driven by Playwright: launched once per test session.

Why Debian's Chromium and not Playwright's download: CI installs it with apt (scripts/system-deps.sh)
and nothing may fetch browsers at test time, so `playwright install` is never run; the pip wheel
brings only the driver. A missing browser or package is a clear failure, never a skip: the web app's
tests are the only proof that sign-in and subscribe work in a real browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in containers, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed; the message says how to install it."""


@contextmanager
def chromium(executable: Path = CHROMIUM) -> Iterator[Browser]:
    """A running headless Chromium for the duration of the `with` block."""
    if not executable.exists():
        raise BrowserUnavailable(
            f"{executable} not found: install it with `apt-get install -y chromium chromium-driver` "
            "(or run scripts/system-deps.sh as root)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()
