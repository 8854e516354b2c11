"""Polling a feed the way a calendar app does, while the Faults suite makes upstream misbehave.

One `Poller` per test: every poll is timed and its answer checked, and the tally (polls answered,
events kept, worst latency) goes to the session's figures, which the docs quote.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import httpx
import icalendar

from tests.conformance.lint import lint
from tests.conformance.parsers import PARSERS
from tests.support.figures import Figures

SUITE = "Faults"


@dataclass
class Poller:
    url: str
    figures: Figures

    def poll(self, timeout: float = 30.0) -> httpx.Response:
        """One GET of the feed; counts it and keeps the worst latency."""
        started = time.monotonic()
        response = httpx.get(self.url, timeout=timeout)
        elapsed = time.monotonic() - started
        self.figures.add(SUITE, "feed polls made")
        if response.status_code == 200:
            self.figures.add(SUITE, "feed polls answered 200")
        self.figures.highest(SUITE, "max poll latency", elapsed, " s")
        return response

    def summaries(self) -> Counter[str]:
        """The events' summaries of a poll that must answer 200."""
        response = self.poll()
        assert response.status_code == 200, response.text
        return summaries_of(response.content)


def summaries_of(body: bytes) -> Counter[str]:
    return Counter(str(event["SUMMARY"]) for event in icalendar.Calendar.from_ical(body).walk("VEVENT"))


def assert_every_parser_reads(body: bytes, events: int) -> None:
    """The feed lints clean and each real parser decodes exactly `events` events from it."""
    assert [finding for finding in lint(body) if finding.severity == "error"] == []
    for name, parse in PARSERS.items():
        assert len(parse(body).events) == events, name
