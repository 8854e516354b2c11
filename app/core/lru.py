"""A least-recently-used map bounded by a count and by a total size that each value states.

Why one class: the rendered-feed memory (whole feeds) and the serialized-VEVENT cache (single events)
both keep values from a few bytes to many KB, so an entry count alone bounds nothing. Both are used
from the event loop's thread only (rendering is synchronous and never handed to a thread), so there is
no lock: every method runs to completion before another request's code can touch the map.

Insertion is O(1): `OrderedDict.move_to_end` on a hit, `popitem(last=False)` to evict the oldest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """At most `max_items` values and `max_bytes` of `size(value)`, the newest always kept."""

    def __init__(self, *, max_bytes: int, size: Callable[[V], int], max_items: int | None = None) -> None:
        self._max_bytes = max_bytes
        self._max_items = max_items
        self._size = size
        self._bytes = 0
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        """The sum of `size` over the values held, as they were measured when put."""
        return self._bytes

    def get(self, key: K) -> V | None:
        """The value, now the most recently used; None when absent."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep `value` as the most recently used, then evict the oldest until within both bounds."""
        previous = self._items.pop(key, None)
        if previous is not None:
            self._bytes -= self._size(previous)
        self._items[key] = value
        self._bytes += self._size(value)
        while len(self._items) > 1 and (
            self._bytes > self._max_bytes
            or (self._max_items is not None and len(self._items) > self._max_items)
        ):
            _, evicted = self._items.popitem(last=False)
            self._bytes -= self._size(evicted)
