"""The sandbox: a stand-in Trakt + TMDB on loopback, and the state holder behind it.

It is written from the API reference alone and imports nothing of the product, so a
misreading of Trakt in the product cannot hide in both sides of a test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

from starlette.applications import Starlette
from starlette.middleware import Middleware

from app.sandbox.catalog import generate
from app.sandbox.control import Control
from app.sandbox.faults import SandboxMiddleware
from app.sandbox.model import Dataset, Episode, EpisodeIds, merge
from app.sandbox.oauth import OAuth
from app.sandbox.state import (
    REPLACING_BODIES,
    RESHAPING_BODIES,
    AuthState,
    Call,
    Config,
    DeviceOutcome,
    Fault,
)
from app.sandbox.tmdb import TmdbApi
from app.sandbox.trakt import TraktApi

FAULT_KEYS = frozenset(f.name for f in dataclasses.fields(Fault)) - {"added_at"}
FAULT_BODIES = REPLACING_BODIES | RESHAPING_BODIES
OUTCOMES = frozenset(get_args(DeviceOutcome))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Sandbox:
    """State and switches of one sandbox; `app` serves it, tests also poke it directly."""

    def __init__(
        self, clock: Callable[[], datetime], client_id: str, client_secret: str, tmdb_token: str, seed: int
    ) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.tmdb_token = tmdb_token
        self.seed = seed
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.fault_epoch = 0  # bumped when faults are cleared: releases hanging requests
        self.config = Config()
        self.auth = AuthState()
        self._overrides: list[tuple[str, int, dict[str, Any]]] = []
        self._drop_sizes: dict[int, int] = {}
        self._generated: dict[date, Dataset] = {}
        routes = [
            *OAuth(self).routes(),
            *TraktApi(self).routes(),
            *TmdbApi(self).routes(),
            *Control(self).routes(),
        ]
        self.app = Starlette(routes=routes, middleware=[Middleware(SandboxMiddleware, sandbox=self)])

    def reset(self) -> None:
        self.calls.clear()
        self.clear_faults()
        self.config = Config()
        self.auth = AuthState()
        self._overrides.clear()
        self._drop_sizes.clear()

    def dataset(self) -> Dataset:
        """The catalog for the clock's UTC date with drop resizes and overrides applied."""
        data = self._base(self.clock().astimezone(UTC).date())
        for show_id, delta in self._drop_sizes.items():
            data = _resize_drop(data, show_id, delta)
        for kind, trakt_id, fields in self._overrides:
            data = _apply_override(data, kind, trakt_id, fields)
        return data

    def _base(self, today: date) -> Dataset:
        """The generated catalog for `today`; only the latest date is kept (tests move forward)."""
        data = self._generated.get(today)
        if data is None:
            data = generate(today, self.seed)
            self._generated = {today: data}
        return data

    def count(self, prefix: str, user: str | None = None) -> int:
        """Calls under `prefix`; with `user`, only those made with that user's bearer token."""
        return sum(
            1 for call in self.calls if call.path.startswith(prefix) and (user is None or call.user == user)
        )

    def clear_faults(self) -> None:
        self.faults.clear()
        self.fault_epoch += 1

    def take_fault(self, path: str, user: str | None = None) -> Fault | None:
        """The first live fault matching `path` (and the caller's user), consuming one of its `times`."""
        now = self.clock()
        self.faults = [
            f
            for f in self.faults
            if f.seconds is None or f.added_at is None or now < f.added_at + timedelta(seconds=f.seconds)
        ]
        for fault in self.faults:
            if path.startswith(fault.prefix) and fault.user in (None, user):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def add_faults(self, specs: list[dict[str, Any]]) -> None:
        parsed = []
        for spec in specs:
            unknown = set(spec) - FAULT_KEYS
            if unknown or not isinstance(spec.get("prefix"), str):
                raise ValueError(f"fault needs a string prefix; unknown keys {sorted(unknown)}")
            if spec.get("body") is not None and spec["body"] not in FAULT_BODIES:
                raise ValueError(f"fault body must be one of {sorted(FAULT_BODIES)} or null")
            if spec.get("user") is not None and not isinstance(spec["user"], str):
                raise ValueError("fault user must be a user's slug or null")
            if not isinstance(spec.get("retry_after_date", False), bool):
                raise ValueError("fault retry_after_date must be a boolean")
            for key in ("status", "delay_ms", "trickle_ms", "retry_after", "times", "seconds"):
                value = spec.get(key)
                if value is not None and (type(value) is not int or value < 1):
                    raise ValueError(f"fault {key} must be a positive integer or null")
            if spec.get("inject") is not None and not isinstance(spec["inject"], list):
                raise ValueError("fault inject must be a list of items or null")
            if not isinstance(spec.get("hang", False), bool):
                raise ValueError("fault hang must be a boolean")
            zeros = {key: spec.get(key) or 0 for key in ("delay_ms", "trickle_ms")}
            parsed.append(Fault(**{**spec, **zeros}, added_at=self.clock()))
        self.faults.extend(parsed)

    def configure(self, changes: dict[str, Any]) -> None:
        """Merge configuration, checking every key and type before changing anything."""
        current = dataclasses.asdict(self.config)
        unknown = set(changes) - set(current)
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        ints = ("access_token_ttl", "device_interval")
        bools = ("enforce_interval", "enforce_rate_limit")
        for key in ints:
            if key in changes and (type(changes[key]) is not int or changes[key] < 0):
                raise ValueError(f"{key} must be a non-negative integer")
        for key in bools:
            if key in changes and not isinstance(changes[key], bool):
                raise ValueError(f"{key} must be a boolean")
        if "device_outcome" in changes and changes["device_outcome"] not in OUTCOMES:
            raise ValueError(f"device_outcome must be one of {sorted(OUTCOMES)}")
        user = changes.get("next_user")
        if user is not None and not (isinstance(user, dict) and isinstance(user.get("slug"), str)):
            raise ValueError("next_user must be an object with a slug")
        self.config = dataclasses.replace(self.config, **changes)

    def override(self, kind: str, trakt_id: int, fields: dict[str, Any]) -> None:
        """Record an edit of one catalog item; validated now so a bad edit fails at the call."""
        _apply_override(self.dataset(), kind, trakt_id, fields)
        self._overrides.append((kind, trakt_id, fields))

    def resize_drop(self, show_id: int, delta: int) -> int:
        """Grow or shrink a binge drop by `delta` episodes; returns the drop's new size."""
        data = self.dataset()
        if show_id not in data.drops:
            raise ValueError(f"show {show_id} has no binge drop")
        wanted = self._drop_sizes.get(show_id, 0) + delta
        resized = _resize_drop(self._base(data.today), show_id, wanted)
        self._drop_sizes[show_id] = wanted
        return len(_drop_episodes(resized, show_id))


def _drop_episodes(data: Dataset, show_id: int) -> list[Episode]:
    season = data.drops[show_id]
    return [e for e in data.episodes if e.show_trakt == show_id and e.season == season]


def _resize_drop(data: Dataset, show_id: int, delta: int) -> Dataset:
    """Add episodes at the drop's instant (delta > 0) or remove its last ones (delta < 0)."""
    drop = sorted(_drop_episodes(data, show_id), key=lambda e: e.number)
    if delta < 0:
        if -delta >= len(drop):
            raise ValueError("a binge drop cannot shrink below one episode")
        gone = {e.ids.trakt for e in drop[delta:]}
        episodes = tuple(e for e in data.episodes if e.ids.trakt not in gone)
        return dataclasses.replace(data, episodes=episodes)
    last = drop[-1]
    added = [
        dataclasses.replace(
            last,
            number=last.number + n,
            title=f"Bonus Episode {last.number + n}",
            ids=EpisodeIds(trakt=last.ids.trakt + n, tvdb=None, imdb=None, tmdb=None),
            episode_type="standard",
        )
        for n in range(1, delta + 1)
    ]
    ordered = sorted((*data.episodes, *added), key=lambda e: (e.first_aired, e.ids.trakt))
    return dataclasses.replace(data, episodes=tuple(ordered))


def _apply_override(data: Dataset, kind: str, trakt_id: int, fields: dict[str, Any]) -> Dataset:
    if kind == "episode":
        records: tuple[Any, ...] = data.episodes
    elif kind == "show":
        records = data.shows
    elif kind == "movie":
        records = data.movies
    else:
        raise ValueError("kind must be episode, show or movie")
    if not any(r.ids.trakt == trakt_id for r in records):
        raise ValueError(f"no {kind} with trakt id {trakt_id}")
    changed = tuple(merge(r, fields) if r.ids.trakt == trakt_id else r for r in records)
    if kind == "episode":
        changed = tuple(sorted(changed, key=lambda e: (e.first_aired, e.ids.trakt)))
        return dataclasses.replace(data, episodes=changed)
    if kind == "show":
        return dataclasses.replace(data, shows=changed)
    return dataclasses.replace(data, movies=changed)


def create_sandbox(
    clock: Callable[[], datetime] | None = None,
    *,
    client_id: str = "sandbox-client-id",
    client_secret: str = "sandbox-client-secret",
    tmdb_token: str = "sandbox-tmdb-token",
    seed: int = 1,
) -> Sandbox:
    return Sandbox(clock or _utc_now, client_id, client_secret, tmdb_token, seed)
