"""Request counters and memory gauges in the Prometheus text format, kept in process memory.

Why hand-rolled: a few series do not earn a metrics dependency; the format is a few lines.
"""

from __future__ import annotations

from collections import Counter

from app.domain.drops import DropLog
from app.feeds.service import FeedStats

_GROUPS = ("feeds", "auth", "dashboard", "static", "healthz", "readyz", "metrics")


def request_group(path: str) -> str:
    """The group a request is counted in: the path's first segment, if one of ours (never the full
    path: feed URLs hold secrets)."""
    first = path.strip("/").split("/", 1)[0]
    return first if first in _GROUPS else ("root" if first == "" else "other")


def exposition(counts: Counter[tuple[str, int]], feeds: FeedStats, drops: DropLog) -> str:
    """Request counts, feed renderings, what the rendered-feed memory holds, and dropped upstream items
    (each distinct malformed item once, however often its cached chunk is parsed again)."""
    lines = ["# TYPE airdate_http_requests_total counter"]
    for (group, status), value in sorted(counts.items()):
        lines.append(f'airdate_http_requests_total{{group="{group}",status="{status}"}} {value}')
    lines += [
        "# TYPE airdate_feed_renders_total counter",
        f"airdate_feed_renders_total {feeds.renders}",
        "# TYPE airdate_feed_memory_entries gauge",
        f"airdate_feed_memory_entries {feeds.memory_entries}",
        "# TYPE airdate_feed_memory_bytes gauge",
        f"airdate_feed_memory_bytes {feeds.memory_bytes}",
        "# TYPE airdate_upstream_items_dropped_total counter",
    ]
    for source, value in sorted(drops.counts.items()):
        lines.append(f'airdate_upstream_items_dropped_total{{source="{source}"}} {value}')
    return "\n".join(lines) + "\n"
