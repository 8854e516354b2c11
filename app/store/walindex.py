"""Has anything been committed to this SQLite database since we last looked? Read off the WAL index.

Why not `PRAGMA data_version`, which answers the same question: through Python's sqlite3 module it
steps a statement that opens a read transaction (shared-memory locks, a GIL hand-off), and measured
inside a warm poll it cost about 15 µs, more than the rest of the poll's own work (docs/performance.md,
issue 11). The WAL index (`<database>-shm`) is the shared memory every connection maps, and its header
(SQLite's file format, https://www.sqlite.org/walformat.html, "The WAL-Index Header") gets a new
change counter, frame count and checksum with every commit, by any connection of any process. SQLite
compares that same header when a connection starts a read, to learn whether its page cache went stale,
which is what moves `data_version`. Mapped read-only, the comparison costs a fraction of a
microsecond.

The mapping is taken only while a connection of ours holds the database open (so the file is never
unlinked under it: SQLite deletes the WAL index only when the last connection closes), and only when
the header says it is the version this layout describes. Otherwise the caller reads the PRAGMA.
A header read while a commit writes it can only look different from the last one, never the same:
at worst one needless "changed".
"""

from __future__ import annotations

import mmap
import sqlite3
import struct

HEADER_BYTES = 48  # the first of the header's two copies: iVersion .. aCksum
_LAYOUT_VERSION = 3007000  # WALINDEX_MAX_VERSION: iVersion of every WAL index since SQLite 3.7.0
_IS_INIT = 12  # offset of the header's isInit byte


class WalIndexHeader:
    """A read-only view of a WAL database's index header: equal bytes mean no commit in between."""

    def __init__(self, mapped: mmap.mmap) -> None:
        self._mapped = mapped

    @classmethod
    def open(cls, connection: sqlite3.Connection, database: str) -> WalIndexHeader | None:
        """The header of `database`'s WAL index, which `connection` must keep open for as long as the
        header is read; None when there is none to read (not in WAL mode, an unfamiliar layout)."""
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            return None
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # maps the index, if not yet
        try:
            with open(f"{database}-shm", "rb") as file:
                mapped = mmap.mmap(file.fileno(), HEADER_BYTES, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # no such file (another VFS, a shm directory elsewhere), too short
            return None
        (version,) = struct.unpack_from("=I", mapped, 0)
        if version != _LAYOUT_VERSION or not mapped[_IS_INIT]:
            mapped.close()
            return None
        return cls(mapped)

    def read(self) -> bytes:
        """The header as it is now: it differs from an earlier read when anything committed since."""
        return self._mapped[:HEADER_BYTES]

    def close(self) -> None:
        self._mapped.close()
