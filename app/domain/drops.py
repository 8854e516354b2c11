"""Upstream items that parsing dropped: each one logged once, with its ids, and counted for /metrics.

Why once: the calendar cache keeps Trakt's raw JSON and every rendering parses it again, so a bad
item in a cached chunk would otherwise log a warning on every poll for as long as the chunk lives.
Items are told apart by a digest of their JSON; the memory of digests is bounded, so a flood of
distinct bad items costs a bounded amount of memory (an item forgotten and seen again is logged
and counted again, which errs on the side of telling).

Why only ids: the item's text could be anything (and huge); ids say which item it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter, OrderedDict
from typing import Any

log = logging.getLogger(__name__)

REMEMBER = 4096  # distinct dropped items remembered per process
_SHOWN_ID = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_ID_KEYS = ("trakt", "tmdb", "imdb", "tvdb", "slug")


class DropLog:
    """Drops seen by one process: `counts` per source (e.g. "shows", "movies", "tmdb")."""

    def __init__(self, remember: int = REMEMBER) -> None:
        self.counts: Counter[str] = Counter()
        self._remember = remember
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def drop(self, source: str, item: object, reason: str, *, ids: str | None = None) -> None:
        """Record that `item` from `source` was dropped; logs and counts only the first time.

        `ids` names the item when the caller knows better than `describe` (a TMDB answer does not
        carry the id it was asked for)."""
        key = (source, _digest(item))
        if key in self._seen:
            self._seen.move_to_end(key)
            return
        self._seen[key] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        self.counts[source] += 1
        log.warning("dropped a malformed %s item (%s): %s", source, ids or describe(item), reason)

    def remembered(self) -> int:
        return len(self._seen)


def describe(item: object) -> str:
    """The ids of an item that can be shown safely ("episode 42, show 7"), or its JSON type."""
    if not isinstance(item, dict):
        return f"a {_json_type(item)} instead of an object"
    parts = []
    for name in ("episode", "show", "movie"):
        part = item.get(name)
        ids = part.get("ids") if isinstance(part, dict) else None
        if isinstance(ids, dict):
            shown = [f"{key} {ids[key]}" for key in _ID_KEYS if _showable(ids.get(key))]
            if shown:
                parts.append(f"{name} " + ", ".join(shown).removeprefix("trakt "))
    return "; ".join(parts) or "no usable ids"


def _showable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value < 10**12
    return isinstance(value, str) and _SHOWN_ID.fullmatch(value) is not None


def _json_type(item: object) -> str:
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "boolean"
    if isinstance(item, int | float):
        return "number"
    if isinstance(item, str):
        return "string"
    return "list" if isinstance(item, list) else type(item).__name__


def _digest(item: object) -> str:
    try:
        canonical = json.dumps(item, sort_keys=True, ensure_ascii=True, default=repr, separators=(",", ":"))
    except (ValueError, RecursionError):  # circular or too deep to encode: one digest for all such
        canonical = f"<unencodable {type(item).__name__}>"
    return hashlib.sha256(canonical.encode()).hexdigest()
