"""The service messages a feed carries as all-day events when something needs the person's attention.

Why in the feed and not only on the dashboard: people look at their calendar, not at Airdate. A feed
that silently stops updating looks like a quiet week; an event saying why, on today's date, is seen.
Pure: the caller says what it knows (the connection's state, how long Trakt has failed), and the
notices' keys keep their UIDs stable from one rendering to the next.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from app.feeds.ics import Notice

# Before this, a failing Trakt is invisible: the calendar cache answers with what it had.
STALE_NOTICE_AFTER = timedelta(days=7)


def notices(
    *,
    needs_reconnect: bool,
    failing_since: datetime | None,
    now: datetime,
    today: date,
    url: str,
    data_expired: bool = False,
) -> list[Notice]:
    """The notices for today: reconnect (the grant is gone), outage (no update for a week or more).

    The outage notice also comes as soon as data the outage kept from being renewed has expired
    (`data_expired`): that data's week is counted from its fetch, the outage's from the first failed
    refresh, up to a cache lifetime later, and a feed must say why it lost events the moment it does.
    """
    found: list[Notice] = []
    if needs_reconnect:
        found.append(
            Notice(
                key="reconnect",
                day=today,
                summary="Airdate: reconnect your Trakt account",
                description="Trakt no longer accepts Airdate's access to your account, so this "
                "calendar shows what it had and cannot update. Sign in with Trakt again to "
                "resume updates (your feed URL stays the same).",
                url=url,
            )
        )
    if failing_since is not None and (data_expired or now - failing_since >= STALE_NOTICE_AFTER):
        found.append(
            Notice(
                key="outage",
                day=today,
                summary="Airdate: Trakt unreachable, calendar may be incomplete",
                description="Airdate has not been able to update this calendar from Trakt since "
                f"{failing_since:%Y-%m-%d %H:%M} UTC; older data has expired. It keeps trying.",
                url=url,
            )
        )
    return found
