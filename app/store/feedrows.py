"""Feed rows kept in memory, and forgotten the moment the database says what they were read from changed.

Why: nearly every request is a calendar app re-polling a feed, and reading the feed row was most of what
a warm poll cost. The read was there so that a rotated, revoked or edited feed changes on the very next
request on every instance, so a remembered row is only trusted while a check far cheaper than that
read vouches that nothing it came from has changed since it was read (docs/performance.md):

- SQLite: the WAL index header (`app.store.walindex`; `PRAGMA data_version` where there is none), which
  moves whenever any connection commits: this process's own writes and other processes' alike. Any
  commit forgets every row (coarse, but a re-read is one indexed read).
- PostgreSQL: triggers (migration 0004_warm) `NOTIFY` the user id whenever a feed row, a user's name,
  time zone or data version, or a connection's status changes, whoever writes it; a LISTEN connection
  forgets that user's rows as the notification arrives. Rows are trusted only while that connection is
  up and answered a heartbeat lately; while it is down or reconnecting every lookup reads, and whatever
  was remembered before it (re)connected is forgotten, since notifications sent meanwhile were lost.

A read that overlaps an invalidation is answered but not remembered, so a row read just before a change
can never be kept past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "airdate_feed_rows"  # the migration's triggers notify here, with the user id as payload
LISTENER_NAME = "airdate-feed-rows"  # application_name of the LISTEN connection, for pg_stat_activity
TRIGGERS = ("airdate_feed_rows_feeds", "airdate_feed_rows_users", "airdate_feed_rows_connections")
HEARTBEAT = 5.0  # seconds between liveness checks of the LISTEN connection
PROBE = "probe"  # a payload every instance ignores: the listener's self-test at connect
RETRY = (0.5, 30.0)  # reconnect delay: first, and the cap it doubles up to


class HasUser(Protocol):
    @property
    def user_id(self) -> int: ...


Row = TypeVar("Row", bound=HasUser)
Forget = Callable[[int | None], None]  # a user id, or None for everyone


class Watcher(Protocol):
    """Says whether remembered rows may be trusted right now, and reports changes through `on_change`."""

    on_change: Forget

    def current(self) -> bool: ...

    async def close(self) -> None: ...


class FeedRows(Generic[Row]):
    """A bounded map from a key (the token hash) to the row it opens, invalidated by a `Watcher`."""

    def __init__(self, watcher: Watcher, capacity: int) -> None:
        self._watcher = watcher
        self._capacity = capacity
        self._rows: OrderedDict[str, Row] = OrderedDict()
        self._keys_of: dict[int, set[str]] = {}
        self._generation = 0  # moves on every invalidation; a read that saw it move is not kept
        watcher.on_change = self._forget

    def __len__(self) -> int:
        return len(self._rows)

    async def lookup(self, key: str, read: Callable[[], Awaitable[Row | None]]) -> Row | None:
        """The row for `key`: from memory when the watcher vouches for it, else from `read()`."""
        if not self._watcher.current():
            return await read()
        row = self._rows.get(key)
        if row is not None:
            self._rows.move_to_end(key)
            return row
        generation = self._generation
        row = await read()
        if row is not None and self._watcher.current() and generation == self._generation:
            self._remember(key, row)
        return row

    async def close(self) -> None:
        await self._watcher.close()

    def _remember(self, key: str, row: Row) -> None:
        self._rows[key] = row
        self._keys_of.setdefault(row.user_id, set()).add(key)
        while len(self._rows) > self._capacity:
            old_key, old = self._rows.popitem(last=False)
            self._unindex(old_key, old.user_id)

    def _unindex(self, key: str, user_id: int) -> None:
        keys = self._keys_of.get(user_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_of[user_id]

    def _forget(self, user_id: int | None) -> None:
        self._generation += 1
        if user_id is None:
            self._rows.clear()
            self._keys_of.clear()
            return
        for key in self._keys_of.pop(user_id, ()):
            self._rows.pop(key, None)


class SqliteVersion:
    """Vouches while the database's commit marker (read through `probe`) has not moved; forgets all
    when it has."""

    def __init__(self, probe: Callable[[], object]) -> None:
        self._probe = probe
        self._seen: object = None
        self.on_change: Forget = lambda user_id: None

    def current(self) -> bool:
        version = self._probe()
        if version != self._seen:
            self._seen = version
            self.on_change(None)
        return True

    async def close(self) -> None:
        return None


class PostgresChannel:
    """Vouches while a LISTEN connection is up and alive; forgets a user's rows as notifications arrive.

    The connection is opened on the first lookup (CLI verbs that never serve a feed never open it) and
    reopened with back-off whenever it drops.
    """

    def __init__(self, url: str) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: _Listening | None = None
        self._alive_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._heard_probe = asyncio.Event()
        self.on_change: Forget = lambda user_id: None

    def current(self) -> bool:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="feed-rows-listen")
        connection = self._connection
        return connection is not None and not connection.is_closed() and time.monotonic() < self._alive_until

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = RETRY[0]
        while True:
            try:
                if await self._listen():
                    delay = RETRY[0]
            except Exception as exc:  # a background supervisor: any failure means "reconnect later"
                log.warning(
                    "feed row notifications unavailable (%s); reading feed rows on every poll",
                    type(exc).__name__,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY[1])

    async def _listen(self) -> bool:
        """Hold one LISTEN connection until it is lost; False when the triggers are not installed."""
        lost = asyncio.Event()
        connection: _Listening = await asyncpg.connect(
            self._dsn,
            connection_class=_Listening,
            server_settings={"application_name": LISTENER_NAME},
            timeout=HEARTBEAT,
        )
        connection.add_termination_listener(lambda _connection: lost.set())
        connection.notified = self._notified
        try:
            installed = await connection.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname = ANY($1::text[])", list(TRIGGERS)
            )
            if installed != len(TRIGGERS):
                log.warning("feed row triggers missing (run `airdate migrate`); reading every poll's row")
                return False
            await connection.execute(f"LISTEN {CHANNEL}")
            # Notifications reach us through an override of asyncpg internals (see _Listening): prove
            # the path works before trusting anything, so an asyncpg change cannot make us deaf.
            self._heard_probe.clear()
            await connection.execute(f"NOTIFY {CHANNEL}, '{PROBE}'")
            await asyncio.wait_for(self._heard_probe.wait(), HEARTBEAT)
            self._connection = connection
            self._alive_until = time.monotonic() + 3 * HEARTBEAT
            self.on_change(None)  # anything read before LISTEN took effect may have missed its notice
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEARTBEAT)
                if lost.is_set():
                    break
                await asyncio.wait_for(connection.fetchval("SELECT 1"), HEARTBEAT)
                self._alive_until = time.monotonic() + 3 * HEARTBEAT
            return True
        finally:
            self._connection = None
            self.on_change(None)
            connection.terminate()

    def _notified(self, payload: str) -> None:
        if payload == PROBE:
            self._heard_probe.set()
            return
        try:
            user_id: int | None = int(payload)
        except ValueError:
            user_id = None
        self.on_change(user_id)


class _Listening(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that hands notifications over as they are read off the socket.

    asyncpg's own listeners run one loop turn later (`call_soon`), after any request that arrived in
    the same turn has started; handled here, a request always sees the notification that came with it.
    """

    notified: Callable[[str], None] = staticmethod(lambda payload: None)

    def _process_notification(self, pid: int, channel: str, payload: Any) -> None:
        if channel == CHANNEL:
            self.notified(str(payload))


def watcher_for(url: str, commit_marker: Callable[[], object]) -> Watcher:
    """The watcher for the backend named in `url`; `commit_marker` reads SQLite's (`HotReader`)."""
    if make_url(url).get_backend_name() == "sqlite":
        return SqliteVersion(commit_marker)
    return PostgresChannel(url)
