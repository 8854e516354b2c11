"""Abuse: forged feed URLs, malformed queries and wrong methods get plain, identical refusals.

What a stranger can do with a feed URL is guess it. Every guess must cost the same and answer the
same (one 404 body), write nothing and hold no memory; junk options are a 400 that names the
option and lists exactly what is accepted, never a 500 and never a silent fallback.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import random
import sqlite3
import string
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.domain.options import (
    MAX_ALARM_MINUTES,
    MAX_FUTURE_DAYS,
    MAX_PAST_DAYS,
    FeedOptions,
    OptionError,
    parse_options,
    parse_query,
    zone_names,
)
from app.domain.sources import SOURCES
from app.services.container import Services
from app.store.secrets import new_feed_token
from app.store.tables import Base
from app.web.app import create_app
from tests.fixtures.app import RunningApp, connect
from tests.fixtures.sandbox import RunningSandbox
from tests.support.inprocess import in_process
from tests.support.settings import sandbox_settings
from tests.support.sql import statements

NOT_FOUND = "Not found\n"


@pytest.fixture
def feed(running_app: RunningApp) -> tuple[RunningApp, str]:
    info = running_app.connect()
    return running_app, f"{running_app.url}/feeds/{info.token}"


def test_every_feed_path_miss_is_the_feed_404(feed: tuple[RunningApp, str]) -> None:
    app, base = feed
    token = base.rsplit("/", 1)[1]
    misses = [
        "/feeds/..%2fetc%2fpasswd.ics",
        "/feeds/..%2F..%2Fetc%2Fpasswd.json",
        f"/feeds/{token}.ics%0a",
        f"/feeds/{token}.ics%00",
        f"/feeds/{token}.json%0d%0a",
        f"/feeds/{token}.txt",
        f"/feeds/{token}",
        f"/feeds/{token}/.ics",
        f"/feeds/a%0a{token}.ics",
        "/feeds/.ics",
        "/feeds/",
        "/feeds",
    ]
    for path in misses:
        response = httpx.get(app.url + path)
        assert (path, response.status_code, response.text) == (path, 404, NOT_FOUND)
        assert response.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{base}.ics").status_code == 200


@pytest.mark.parametrize(
    ("query", "option", "accepted"),
    [
        ("past_days=1_0", "past_days", "a whole number from 0 to 90"),
        ("past_days=%2B5", "past_days", "a whole number from 0 to 90"),
        ("future_days=%EF%BC%91", "future_days", "a whole number from 0 to 365"),
        ("past_days=%205", "past_days", "a whole number from 0 to 90"),
        ("alarm=%D9%A3", "alarm", "a whole number of minutes from 0 to 10080"),
        ("all_day=yes", "all_day", "allowed: true, false, 1, 0"),
        ("group=on", "group", "allowed: true, false, 1, 0"),
        ("specials=TRUE", "specials", "allowed: true, false, 1, 0"),
        ("download=yes", "download", "allowed: true, false, 1, 0"),
        ("sources=shows&sources=movies", "sources", "more than once"),
        ("past_days=1&past_days=1", "past_days", "more than once"),
        ("colour=red", "colour", "allowed: alarm, all_day, download, future_days"),
    ],
)
def test_lenient_input_is_a_400_listing_what_is_accepted(
    feed: tuple[RunningApp, str], query: str, option: str, accepted: str
) -> None:
    _, base = feed
    for suffix in (".ics", ".json"):
        response = httpx.get(f"{base}{suffix}?{query}")
        assert response.status_code == 400, (query, response.text)
        assert response.text.startswith(f"Bad feed option {option}: ")
        assert accepted in response.text


# -- the flood: 10,000 forged feed URLs ------------------------------------------------------------

FORGED = 10_000
SEED = 7
BATCH = 25  # requests in flight at once
WARM_UP = 500
CHURN = 500
TRACED = 1_000
URL_SAFE = string.ascii_letters + string.digits + "-_"
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "A": "Α", "B": "Β"}


def forged_paths(token: str, count: int = FORGED, seed: int = SEED) -> list[str]:
    """`count` feed URL paths that must all be misses: made-up tokens and near misses of `token`.

    Deterministic (seeded), so a failure names a path that fails again. Text is percent-encoded as a
    client would send it; the `encoded` kind sends escapes that decode to something other than the
    token (double encoding, encoded separators), never a plain escape of one of its own characters,
    which RFC 3986 makes the same URL.
    """
    rng = random.Random(seed)

    def some(alphabet: str, low: int = 0, high: int = 120) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))

    def near_miss() -> str:
        cut = rng.randint(1, len(token) - 1)
        variants = [
            token[:cut],
            token[cut:],
            token + some(URL_SAFE, 1, 3),
            some(URL_SAFE, 1, 3) + token,
            token[:cut] + rng.choice(URL_SAFE.replace(token[cut], "")) + token[cut + 1 :],
            token.swapcase(),
            token[:cut] + token[cut].swapcase() + token[cut + 1 :],
            "".join(HOMOGLYPHS.get(char, char) for char in token),
            token + "\x00",
            token[:cut] + "\x00" + token[cut:],
            token + "\n",
            " " + token,
            token + ".ics",
            token.upper(),
        ]
        return rng.choice([variant for variant in variants if variant != token])

    def double_encoded(count: int) -> str:
        """The first `count` characters escaped twice: decoded once, they are `%41...`, not the token."""
        return "".join(f"%25{ord(char):02X}" for char in token[:count]) + token[count:]

    kinds: list[Callable[[], str]] = [
        lambda: quote(some(URL_SAFE, 43, 43), safe=""),  # the right shape, 256 random bits
        lambda: quote(some(URL_SAFE), safe=""),  # any length, the token alphabet
        lambda: quote(some(string.hexdigits + "+/="), safe=""),  # other alphabets
        lambda: quote(some(string.printable), safe=""),  # anything printable, control characters too
        lambda: quote("".join(_char(rng.randint(0x80, 0x2FFFF)) for _ in range(rng.randint(1, 60))), safe=""),
        lambda: quote(near_miss(), safe=""),
        lambda: (
            rng.choice(["..%2f", "%2e%2e%2f", "..%5c", "%2e%2e/", "%252e%252e%252f"]) * rng.randint(1, 6)
            + rng.choice(["etc%2fpasswd", "app.db", quote(token, safe=""), ""])
        ),
        lambda: double_encoded(rng.randint(1, len(token))),
        lambda: "".join(f"%{rng.randint(0, 255):02x}" for _ in range(rng.randint(1, 60))),
        lambda: quote(token, safe="") + rng.choice(["%00", "%0a", "%0d%0a", "%20", "%2f", ".", "%2e"]),
    ]
    paths: dict[str, None] = {}  # distinct, in the order made
    for number in itertools.count():
        if len(paths) == count:
            return list(paths)
        forged = kinds[number % len(kinds)]()
        ending = rng.choice([".ics", ".json", ".ics", ".json", ".ICS", ".ics.json", "", ".txt", ".ics%0a"])
        if f"{forged}{ending}" not in (f"{token}.ics", f"{token}.json"):  # (token + ".ics") + ""
            paths[f"/feeds/{forged}{ending}"] = None
    raise AssertionError("unreachable")


def _char(code: int) -> str:
    """A character for `code`, or U+FFFD for a lone surrogate (which no client can send as UTF-8)."""
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)


@dataclass
class Abuse:
    """The app in process with a signed-in user; `token` is their real feed token."""

    client: httpx.AsyncClient
    token: str
    database_url: str
    services: Services


@pytest.fixture
async def abuse(database_url: str, sandbox: RunningSandbox) -> AsyncIterator[Abuse]:
    settings = sandbox_settings(database_url, sandbox.url, "http://airdate.test")
    sandbox.state.configure({"device_interval": 0})
    token = (await connect(settings, sandbox.clock)).token
    app = create_app(settings, clock=sandbox.clock, background=False)
    async with in_process(app) as client:
        yield Abuse(client, token, database_url, app.state.services)


class WriteCounter:
    """Every write the app could make: INSERT/UPDATE/DELETE statements its engine sends, and on
    SQLite the file's commit counter (`PRAGMA data_version`, moved by any other connection's commit)."""

    def __init__(self, abuse: Abuse) -> None:
        engine = abuse.services.engine
        self._statements = [statements(engine, verb) for verb in ("INSERT", "UPDATE", "DELETE")]
        path = make_url(abuse.database_url).database
        self._sqlite = sqlite3.connect(path) if path and abuse.database_url.startswith("sqlite") else None
        self._version = self._data_version()

    def _data_version(self) -> int:
        if self._sqlite is None:
            return 0
        version: int = self._sqlite.execute("PRAGMA data_version").fetchone()[0]
        return version

    def writes(self) -> int:
        commits = self._data_version() - self._version
        return sum(len(seen) for seen in self._statements) + commits

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()


async def table_rows(abuse: Abuse) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, ordered: what the database holds, compared before and after."""
    async with abuse.services.engine.connect() as connection:
        rows = {}
        for table in Base.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name] = sorted((tuple(row) for row in result), key=repr)  # json has no order
        return rows


async def record_one_poll(abuse: Abuse) -> None:
    context = await abuse.services.feeds.lookup(abuse.token)
    assert context is not None
    await abuse.services.accounts.record_polls({context.feed_id: (1, abuse.services.clock())})


async def test_ten_thousand_forged_tokens_are_identical_404s_with_no_writes_and_flat_memory(
    abuse: Abuse, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = make_url(database_url).get_backend_name()
    count = FORGED if backend == "sqlite" else FORGED * 3 // 10  # PostgreSQL: a 3,000 sample, same kinds
    paths = forged_paths(abuse.token, count)
    assert (await abuse.client.get(f"/feeds/{abuse.token}.ics")).status_code == 200  # the control
    answers: Counter[tuple[int, str, str, str]] = Counter()

    async def send(batch: list[str]) -> None:
        for response in await asyncio.gather(*(abuse.client.get(path) for path in batch)):
            headers = response.headers
            shape = (response.status_code, response.text, headers["content-type"], headers["content-length"])
            answers[shape] += 1

    async def send_all(part: list[str]) -> None:
        for start in range(0, len(part), BATCH):
            await send(part[start : start + BATCH])

    await send_all(paths[:WARM_UP])  # every lazily built piece is built before anything is measured
    before = await table_rows(abuse)
    counter = WriteCounter(abuse)
    started = time.perf_counter()
    await send_all(paths[WARM_UP : -TRACED - CHURN])
    elapsed = time.perf_counter() - started
    # The last requests under tracemalloc (it slows every allocation about threefold): whatever a
    # miss leaves behind shows as growth in proportion to the requests. The first of them only turn
    # over bounded caches (urllib's, httpx's), whose old entries tracemalloc never saw allocated.
    # Measured in two halves: a leak grows both alike, whereas a one-off allocation (a pool's
    # connection, a listener's heartbeat) lands in one of them, so the smaller half is the test.
    tracemalloc.start()
    await send_all(paths[-TRACED - CHURN : -TRACED])
    halves = []
    for half in (paths[-TRACED : -TRACED // 2], paths[-TRACED // 2 :]):
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        await send_all(half)
        gc.collect()
        halves.append(tracemalloc.get_traced_memory()[0] - baseline)
    tracemalloc.stop()
    grown = sum(halves)
    writes = counter.writes()
    after = await table_rows(abuse)
    await record_one_poll(abuse)  # the control: a real write is seen by both counters
    assert counter.writes() > writes
    counter.close()
    with capsys.disabled():
        print(
            f"\nabuse[{backend}]: {count} forged feed URLs: {answers.most_common(1)[0][1]} x 404 "
            f"'Not found', {len(answers)} distinct answer(s), {writes} database writes, "
            f"{(count - WARM_UP - TRACED - CHURN) / elapsed:.0f} requests/s, "
            f"memory {grown / 1024:+.0f} KiB over the last {TRACED} "
            f"({' and '.join(f'{h / 1024:+.0f}' for h in halves)} KiB per half; tracemalloc)"
        )
    assert list(answers) == [(404, NOT_FOUND, "text/plain; charset=utf-8", str(len(NOT_FOUND)))]
    assert writes == 0
    assert after == before
    assert min(halves) < 64 * 1024  # a leak of 128 bytes a miss would show in both halves


# -- over-long and malformed queries, wrong methods -------------------------------------------------

# httpx refuses URLs over 64 KiB (and uvicorn's h11 request lines over 16 KiB): up to ~50 KiB here.
MALFORMED_QUERIES = [
    "=",
    "&&&=1",
    "past_days",
    "past_days=" + "9" * 50_000,
    "a" * 50_000 + "=1",
    "&".join(f"k{number}=v" for number in range(2_000)),
    "tz=%00",
    "tz=" + "Europe/" * 2_000,
    "tz=..%2F..%2Fetc%2Fpasswd",
    "%ff%fe=%c0%af",
    "past_days=%ff",
    "alarm=1e3",
    "alarm=0x10",
    "future_days=-0",
    "all_day=true%00",
    "download=1&download=1",
    "group=%E2%80%8Btrue",
    "specials=true;hide_watched=true",
]

# Odd but meaning nothing wrong: the feed with what they do say.
HARMLESS_QUERIES = [
    "&&&",
    "past_days=7&&",
    "sources=" + ",".join(["shows"] * 8_000),  # each source once
    "sources=shows" + "%2C" * 5_000,  # empty parts between commas are no source
]


@pytest.mark.parametrize("suffix", [".ics", ".json"])
async def test_malformed_queries_are_400s_that_quote_little_and_never_500s(abuse: Abuse, suffix: str) -> None:
    forged = f"/feeds/{new_feed_token()}{suffix}"
    for query in MALFORMED_QUERIES:
        real = await abuse.client.get(f"/feeds/{abuse.token}{suffix}?{query}")
        assert real.status_code == 400, (query[:60], real.status_code, real.text[:200])
        assert real.text.startswith("Bad feed option "), real.text[:200]
        assert "allowed" in real.text or "given more than once" in real.text, real.text[:200]
        assert len(real.content) < 1_000, query[:60]  # a bad value is quoted in part, never echoed whole
        miss = await abuse.client.get(f"{forged}?{query}")
        assert (miss.status_code, miss.text) == (404, NOT_FOUND), query[:60]
    for query in HARMLESS_QUERIES:
        assert (await abuse.client.get(f"/feeds/{abuse.token}{suffix}?{query}")).status_code == 200


async def test_every_method_but_get_and_head_is_refused(abuse: Abuse) -> None:
    paths = [
        f"/feeds/{abuse.token}.ics",
        f"/feeds/{abuse.token}.json",
        f"/feeds/{new_feed_token()}.ics",
        "/feeds/..%2fetc%2fpasswd.ics",
        "/feeds/",
    ]
    for path in paths:
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "FOO"):
            response = await abuse.client.request(method, path, content=b"x=1")
            assert (method, path, response.status_code) == (method, path, 405)
            assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert (await abuse.client.head(f"/feeds/{abuse.token}.ics")).status_code == 200
    assert (await abuse.client.head(f"/feeds/{abuse.token}.json")).status_code == 200


# -- the option parser, fuzzed ---------------------------------------------------------------------

NAMES = [*FeedOptions.__dataclass_fields__, "download", "colour", ""]
WORDS = [
    "",
    "0",
    "1",
    "7",
    "90",
    "91",
    "365",
    "10080",
    "true",
    "false",
    "none",
    "off",
    "shows",
    "movies,dvd",
    "UTC",
    "Europe/Berlin",
    "yes",
    "１",
    "+5",
    "1_0",
    " 5",
    "-1",
    "\x00",
    "shows,,new",
]
values = st.one_of(st.sampled_from(WORDS), st.text(max_size=30), st.from_regex(r"[0-9]{1,8}", fullmatch=True))
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))


def assert_valid(options: FeedOptions) -> None:
    assert options.sources and set(options.sources) <= set(SOURCES)
    assert 0 <= options.past_days <= MAX_PAST_DAYS and 0 <= options.future_days <= MAX_FUTURE_DAYS
    assert options.alarm is None or 0 <= options.alarm <= MAX_ALARM_MINUTES
    assert options.tz is None or options.tz in zone_names()
    assert FeedOptions.from_json(options.to_json()) == options


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(names, values, max_size=6))
def test_the_option_parser_gives_valid_options_or_an_error_naming_one(given_values: dict[str, str]) -> None:
    try:
        options = parse_options(given_values)
    except OptionError as error:
        assert error.option in given_values
        assert str(error).startswith(f"{error.label}: ") and len(str(error)) < 400
        assert "allowed" in str(error) or "more than once" in str(error)
    else:
        assert_valid(options)
        assert set(given_values) <= set(FeedOptions.__dataclass_fields__)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(names, values), max_size=6))
def test_a_query_is_checked_whole_and_each_name_once(pairs: list[tuple[str, str]]) -> None:
    try:
        query = parse_query(pairs)
        options = parse_options(query.overrides)
    except OptionError as error:
        assert error.option in {name for name, _ in pairs}
        assert str(error).startswith(f"{error.label}: ") and len(str(error)) < 400
    else:
        assert_valid(options)
        assert len({name for name, _ in pairs}) == len(pairs)
        assert query.download == any(name == "download" and value in ("true", "1") for name, value in pairs)
