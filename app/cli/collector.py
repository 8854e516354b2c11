"""The garbage collector set for a long-running feed server.

Why: a serving process's heap is mostly long-lived (the code and configuration start-up built, and the
rendered feeds kept in memory), and each full collection of CPython's cyclic collector walks all of it
while the event loop waits. With the default first threshold (a young collection every 700
allocations), many concurrent connections kept the objects of requests in flight alive across young
collections, promoting them until a full collection was due: under 200 clients that came every 3 to
5 s and paused every answer 50 to 200 ms with 1,000 feeds in memory, two to four times the bare app's
p99 (benchmark 7; docs/performance.md, issue 11). Freezing what start-up built keeps it out of every
collection, and a first threshold of 10,000 lets request objects die by reference counting before a
collection can promote them. Reference counting frees everything that is not a cycle either way.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default is 700)


def settle_for_serving() -> None:
    """Call once start-up is done in a serving process: collect, freeze what is left, raise the first
    threshold (the older generations' stay as they are)."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
