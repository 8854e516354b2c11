"""Several instances (or workers) on one database share the upstream work instead of repeating it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from app.main import create_app
from tests.fixtures.app import RunningApp, free_port
from tests.fixtures.sandbox import RunningSandbox
from tests.support.server import serve

TMDB = "/3/"


def test_two_instances_asked_for_one_cold_feed_at_once_look_each_poster_up_once(
    running_app: RunningApp, sandbox: RunningSandbox
) -> None:
    feed = running_app.connect()
    # Slow enough that the first instance's lookups are still in flight when the second one asks.
    sandbox.state.add_faults([{"prefix": TMDB, "delay_ms": 200}])
    second = create_app(running_app.settings, clock=sandbox.clock, background=False)
    with serve(second, port=free_port()) as second_url:
        urls = [f"{base}/feeds/{feed.token}.ics" for base in (running_app.url, second_url)]
        with ThreadPoolExecutor(len(urls)) as pool:
            responses = list(pool.map(lambda url: httpx.get(url, timeout=30), urls))
    assert [response.status_code for response in responses] == [200, 200]

    lookups = [(call.path, call.query) for call in sandbox.state.calls if call.path.startswith(TMDB)]
    assert lookups, "the feed has titles, so TMDB was asked"
    repeated = sorted({lookup for lookup in lookups if lookups.count(lookup) > 1})
    assert repeated == [], f"{len(repeated)} of {len(set(lookups))} lookups made twice"
