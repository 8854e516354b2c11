"""Faults suite, data part: malformed upstream answers never cost a feed more than the bad part.

The real app over HTTP, the sandbox injecting the corpus into real calendar answers (or replacing
the answers with truncated JSON, a Cloudflare page with 200, a wrong top-level shape, 10 MB): every
poll answers 200, every good item is there, the output passes the linter and every real parser, and
each bad item is counted once in /metrics however often the cached chunk is parsed again.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter

import httpx
import pytest

from app.core.errors import BadResponse
from app.upstream.http import request_json
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.support.corpus import BAD_EPISODES, BAD_RELEASES, changed, show_item
from tests.support.figures import Figures
from tests.support.polling import SUITE, Poller, assert_every_parser_reads
from tests.test_feed_resilience import settle

TTL = 3600
SHOWS = "/calendars/my/shows/20"  # the shows calendar only, not premieres/new/finales
MOVIES = "/calendars/my/movies/20"
POLLS = 3

# One item that is fine where it matters (ids, date in the window) and absurd everywhere else.
ABSURD_GOOD = changed(
    show_item(990_001, show_id=990_000, aired="2026-11-27T01:00:00.000Z"),
    {
        "episode.runtime": 10**12,
        "episode.title": "Lone \ud800 half",
        "show.ids.imdb": {},
        "show.ids.tmdb": 2**40,
    },
)
ABSURD_SUMMARY = "The Show S01E02 · Lone \ufffd half"


def add_fault(sandbox: RunningSandbox, **spec: object) -> None:
    """Sent with ASCII escapes: injected items may hold lone surrogates."""
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", content=json.dumps(spec))
    assert response.status_code == 200, response.text


def clear_faults(sandbox: RunningSandbox) -> None:
    assert httpx.delete(f"{sandbox.url}/_sandbox/faults").status_code == 200


def dropped(running_app: RunningApp) -> dict[str, int]:
    text = httpx.get(f"{running_app.url}/metrics").text
    found = re.findall(r'^airdate_upstream_items_dropped_total\{source="([^"]+)"\} (\d+)$', text, re.M)
    return {source: int(value) for source, value in found}


def baseline(running_app: RunningApp, figures: Figures) -> tuple[Poller, Counter[str]]:
    """A first user's feed polled while the sandbox behaves: what every later answer must keep."""
    poller = Poller(f"{running_app.url}/feeds/{running_app.connect().token}.ics", figures)
    return poller, poller.summaries()


def test_bad_items_cost_only_themselves(
    running_app: RunningApp, sandbox: RunningSandbox, figures: Figures, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.domain.drops")
    _, good = baseline(running_app, figures)
    add_fault(sandbox, prefix=SHOWS, inject=[*BAD_EPISODES.values(), ABSURD_GOOD])
    add_fault(sandbox, prefix=MOVIES, inject=list(BAD_RELEASES.values()))
    sandbox.state.configure({"next_user": {"slug": "second"}})
    poller = Poller(f"{running_app.url}/feeds/{running_app.connect().token}.ics", figures)
    for _ in range(POLLS):
        assert poller.summaries() == good + Counter([ABSURD_SUMMARY])
    body = poller.poll().content
    assert_every_parser_reads(body, sum(good.values()) + 1)
    # Every chunk carried the same bad items and every poll parsed them again: each counts once.
    assert dropped(running_app) == {"shows": len(BAD_EPISODES), "movies": len(BAD_RELEASES)}
    logged = [record for record in caplog.records if record.name == "app.domain.drops"]
    assert len(logged) == len(BAD_EPISODES) + len(BAD_RELEASES)  # once each, not once per poll
    figures.add(SUITE, "bad items injected into live answers", len(BAD_EPISODES) + len(BAD_RELEASES))
    figures.add(SUITE, "items dropped (metrics)", sum(dropped(running_app).values()))
    figures.add(SUITE, "events kept", sum(good.values()) + 1)


BODIES: dict[str, dict[str, object]] = {
    "truncated JSON": {"body": "malformed"},
    "HTML with 200": {"body": "html", "status": 200},
    "an object instead of a list": {"body": "object"},
    "10 MB body": {"body": "huge", "times": 1},
}


def test_a_bad_body_keeps_the_last_good_calendar(
    running_app: RunningApp, sandbox: RunningSandbox, figures: Figures
) -> None:
    """One feed meets each bad body in turn (one app per backend keeps the suite quick)."""
    poller, good = baseline(running_app, figures)
    for case, spec in BODIES.items():
        add_fault(sandbox, prefix="/calendars/", **spec)
        sandbox.clock.advance(seconds=TTL + 60)  # stale: polls serve the cache, the refresh meets the fault
        for _ in range(POLLS):
            assert poller.summaries() == good, case
        settle(sandbox)  # the refreshes behind those answers have met the fault and recorded it
        assert poller.summaries() == good, case
        assert_every_parser_reads(poller.poll().content, sum(good.values()))
        clear_faults(sandbox)
        sandbox.clock.advance(hours=1)  # past the backoff the failure earned: the next case meets Trakt
        figures.add(SUITE, "bad body cases (last good calendar kept)")


async def test_json_nested_deeper_than_the_decoder_recurses_is_a_bad_response(
    sandbox: RunningSandbox,
) -> None:
    """A RecursionError from the decoder would escape the client's error taxonomy."""
    add_fault(sandbox, prefix="/calendars/", body="deep")
    async with httpx.AsyncClient() as http:
        with pytest.raises(BadResponse, match="malformed JSON"):
            await request_json(http, "GET", f"{sandbox.url}/calendars/my/shows/2026-11-20/7", retries=0)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/localtime", "X" * 300])
def test_a_time_zone_trakt_sends_that_does_not_exist_is_utc(
    zone: str, running_app: RunningApp, sandbox: RunningSandbox, figures: Figures
) -> None:
    """Trakt's account time zone decides every feed's window; an unknown one must not break them."""
    sandbox.state.configure({"next_user": {"slug": "elsewhere", "timezone": zone}})
    poller = Poller(f"{running_app.url}/feeds/{running_app.connect().token}.ics", figures)
    assert poller.summaries()
