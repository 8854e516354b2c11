"""The bounded LRU behind the rendered-feed memory and the VEVENT cache: bounded by count and by size,
least recently used out first, the newest always kept."""

from __future__ import annotations

from app.core.lru import Lru


def test_the_least_recently_used_goes_first_when_the_bytes_run_out() -> None:
    lru: Lru[str, bytes] = Lru(max_bytes=10, size=len)
    lru.put("a", b"aaaa")
    lru.put("b", b"bbbb")
    assert lru.get("a") == b"aaaa"  # now "b" is the oldest
    lru.put("c", b"cccc")
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (b"aaaa", None, b"cccc")
    assert (len(lru), lru.bytes) == (2, 8)


def test_the_count_bounds_too() -> None:
    lru: Lru[int, bytes] = Lru(max_bytes=10**6, size=len, max_items=3)
    for key in range(10):
        lru.put(key, b"x")
    assert [key for key in range(10) if lru.get(key) is not None] == [7, 8, 9]
    assert (len(lru), lru.bytes) == (3, 3)


def test_replacing_a_value_accounts_for_the_old_one() -> None:
    lru: Lru[str, bytes] = Lru(max_bytes=100, size=len)
    lru.put("a", b"x" * 40)
    lru.put("a", b"y" * 10)
    assert (len(lru), lru.bytes, lru.get("a")) == (1, 10, b"y" * 10)


def test_a_value_larger_than_the_bound_is_kept_alone() -> None:
    # Keeping the newest is what makes a feed larger than the memory still answer warm polls.
    lru: Lru[str, bytes] = Lru(max_bytes=10, size=len)
    lru.put("a", b"a")
    lru.put("big", b"b" * 50)
    assert (lru.get("a"), lru.get("big"), lru.bytes) == (None, b"b" * 50, 50)
