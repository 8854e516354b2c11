"""Running one job every few seconds for as long as the process lives, whatever a round does.

Why one helper: the background refresher and the poll-count flusher both run beside the server for
its whole life. A round that raises (the database restarting, a bug in one row) must be logged and
followed by the next round as usual: a loop that died with it would leave feeds unrefreshed, or poll
counts unwritten, until someone restarts the server. Cancelling the task is the only way out, which
is what the app's lifespan does on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from app.core.clock import Sleep


async def run_every(
    seconds: float,
    work: Callable[[], Awaitable[object]],
    *,
    log: logging.Logger,
    what: str,
    sleep: Sleep = asyncio.sleep,
) -> NoReturn:
    """Run `work` now and then every `seconds` after each round ends, until cancelled.

    A round's exception is logged on `log` as "<what> failed" with its traceback; cancellation is not
    an `Exception`, so it ends the loop.
    """
    while True:
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)
        await sleep(seconds)
