"""Is Trakt still working for this person? What the dashboard says about it, found out cheaply.

Why the dashboard asks on its own: every feed may be served from fresh cache for an hour, so no feed
request touches Trakt and a revoked grant would stay unnoticed until the next refresh. Opening the
dashboard therefore checks the grant with one `/users/settings` call (inside the per-user GET budget),
at most once per `CHECK_EVERY` per user across all instances: the check is claimed by moving
`trakt_connections.checked_at` in one conditional UPDATE, and only the process that moved it calls.

And why a separate note for outages: when Trakt fails, feeds keep serving the last good calendar
(see app.feeds.calendar), which is right for calendar apps but leaves the person wondering why
nothing new appears; the cache rows know since when the data is old (`app.store.trakt_health`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from app.core.errors import NeedsReconnect, UpstreamError
from app.services.container import Services
from app.store.trakt_health import claim_grant_check

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=5)


async def check_grant(services: Services, user_id: int, *, every: timedelta = CHECK_EVERY) -> None:
    """Ask Trakt whether the user's grant still works, unless someone asked within `every`.

    A refused grant marks the connection for reconnect (the dashboard then shows its banner); any
    other failure is left to the outage note, since it says nothing about the grant.
    """
    if not await claim_grant_check(services.sessions, user_id, services.clock(), every):
        return
    # Through `call`: a 401 costs one refresh, and only a refused refresh (recorded by the
    # connection service itself) turns into the reconnect banner.
    check = partial(services.trakt.user_settings, gate=services.limits.gate(user_id))
    try:
        await services.connections.call(user_id, check)
    except NeedsReconnect:
        return
    except UpstreamError as exc:
        log.info("user %s: grant check inconclusive (%s)", user_id, exc)
