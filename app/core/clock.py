"""What "now" is: a callable injected wherever behaviour depends on time, so tests move a fake clock
instead of sleeping. Real code passes `utc_now`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)
