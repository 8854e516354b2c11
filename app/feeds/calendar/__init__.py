"""The calendar cache: a feed's window of dates -> 33-day chunks cached in the database -> Trakt.

Read in this order: `grid` (which chunks a window needs), `plan` (what a request does about each
chunk, and how the answer is assembled: pure), `freshness` (how long a stored chunk holds: pure),
`service` (the I/O: leases, Trakt calls, outcomes). The rows themselves, and every statement about
them, are `app.store.chunks`.
"""

from app.feeds.calendar.grid import CHUNK_DAYS, EPOCH, Chunk, Window, chunks_for
from app.feeds.calendar.plan import CalendarResult
from app.feeds.calendar.service import CalendarService

__all__ = ["CHUNK_DAYS", "EPOCH", "CalendarResult", "CalendarService", "Chunk", "Window", "chunks_for"]
