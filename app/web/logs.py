"""Where `airdate serve` writes its log: one stream handler on the root logger, text or JSON lines.

Why here and not uvicorn's config: with uvicorn's own configuration only uvicorn's loggers had a
handler, so the app's records were lost below WARNING, and its access log printed whole feed URLs.
Now every record (uvicorn's included) goes through one formatter chosen by `AIRDATE_LOG_FORMAT`;
`json` gives one object per line for log collectors, with access records as named fields.

Why access lines are written in batches: with one write (a system call) and one pass through the
standard formatter per line, the access log cost a warm poll about as much as the rest of the
request; see docs/performance.md. Access lines wait at most `FLUSH_SECONDS` in memory; any other
record (start-up and shutdown lines, warnings, the app's own messages: a few per minute) is written at
once with everything before it. So the server's last lines on a stop write out every access line
before them, also in a `--workers` process, which uvicorn ends by re-raising the signal (no exit
handlers run there); in a single process `logging.shutdown` flushes at exit as well.

Why access lines arrive as tuples: a `LogRecord` per request and logging's handler chain cost a warm
poll several microseconds more than the line itself; the access middleware hands this handler an
`AccessEntry` and the flusher formats each waiting line, byte for byte as the record would have been.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

from app.core.config import LogFormat
from app.web.access_log import ACCESS_LOGGER, FIELDS, FORMAT, AccessEntry, current_sink, set_sink

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FLUSH_SECONDS = 0.2  # the longest a line waits in memory before it is written
BATCH_LINES = 512  # written at once when this many are waiting, whatever the time
# httpx logs every outbound request at INFO: one line per Trakt/TMDB call drowns the access log.
_QUIETER = ("httpx", "httpcore")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; an access record's arguments become its named fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record.args if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) else ()
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return _json_line(
            record.created, record.levelname, record.name, record.getMessage(), fields, exception
        )

    def format_access(self, entry: AccessEntry) -> str:
        """The line `format` writes for the access record `entry` stands for."""
        created, level, *args = entry
        return _json_line(created, logging.getLevelName(level), ACCESS_LOGGER, FORMAT % tuple(args), args)


def _json_line(
    created: float,
    level: str,
    logger: str,
    message: str,
    fields: Sequence[object],
    exception: str | None = None,
) -> str:
    """One record as a JSON object; an access record's arguments become its named fields."""
    data: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level.lower(),
        "logger": logger,
        "message": message,
    }
    if fields:
        data.update(zip(FIELDS, fields, strict=False))
        data["duration_ms"] = round(data["duration_ms"], 2)
    if exception is not None:
        data["exception"] = exception
    return json.dumps(data, ensure_ascii=False)


# An access line after its time stamp, as TEXT_FORMAT with FORMAT as the message gives it.
_ACCESS_LINE = f"%s,%03d %s: {FORMAT}"
_ACCESS_PREFIX = {
    level: f"{logging.getLevelName(level)} {ACCESS_LOGGER}" for level in (logging.DEBUG, logging.INFO)
}


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, byte for byte as `logging.Formatter(TEXT_FORMAT)` writes it, for less per line.

    Why: `strftime` of the same second for every line, and the generic `%`-style machinery, were most
    of what formatting an access line cost. Each second's stamp is formatted once; records with an
    exception or stack take the standard path, which appends them.
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._time(record.created, int(record.msecs))

    def _time(self, created: float, msecs: int) -> str:
        return f"{self._second_stamp(created)},{msecs:03d}"

    def _second_stamp(self, created: float) -> str:
        """`created`'s time stamp to the second, formatted once per second."""
        second = int(created)
        if second != self._second:  # formatters run under their handler's lock: no race here
            self._stamp = time.strftime(self.default_time_format, self.converter(created))
            self._second = second
        return self._stamp

    def format_access(self, entry: AccessEntry) -> str:
        """The line `format` writes for the access record `entry` stands for."""
        created = entry[0]
        # One %-operation: about half what f-strings with format specs cost per line. `%03d` of the
        # fraction's milliseconds truncates, as LogRecord's msecs does.
        stamp = self._second_stamp(created)
        return _ACCESS_LINE % (stamp, (created % 1) * 1000, _ACCESS_PREFIX[entry[1]], *entry[2:])

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        return f"{record.asctime} {record.levelname} {record.name}: {record.message}"


class _Handler(logging.StreamHandler[IO[str]]):
    """Ours, so configuring twice replaces it instead of printing every line twice; it writes access
    lines in batches (see the module docstring), from a flusher thread at most `FLUSH_SECONDS` apart.
    """

    def __init__(self, stream: IO[str], formatter: TextFormatter | JsonFormatter) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self._access = formatter
        # Formatted lines and access entries, in arrival order. A deque: the event loop appends
        # entries without the lock while the flusher pops them (both are atomic on a deque).
        self._pending: deque[str | AccessEntry] = deque()
        self._stopping = threading.Event()
        threading.Thread(target=self._flush_periodically, name="log-flush", daemon=True).start()

    def take_access(self, entry: AccessEntry) -> None:
        """The access middleware's sink: keep the entry until the next flush."""
        self._pending.append(entry)
        if len(self._pending) >= BATCH_LINES:
            self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock (Handler.handle), as flush() takes it: no line interleaves.
        try:
            self._pending.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if record.name != ACCESS_LOGGER or len(self._pending) >= BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        self.acquire()
        pending, count = self._pending, 0
        try:
            count = len(pending)
            if count:
                line = self._access.format_access
                waiting = [pending.popleft() for _ in range(count)]
                text = "\n".join([item if isinstance(item, str) else line(item) for item in waiting])
                self.stream.write(text + "\n")
                self.stream.flush()
        except Exception:  # as StreamHandler.emit does: a broken stream must not break serving
            self.handleError(logging.makeLogRecord({"msg": f"{count} log lines not written"}))
        finally:
            self.release()

    def close(self) -> None:
        """Write what is waiting and stop the flusher (`logging.shutdown` calls this at exit)."""
        self._stopping.set()
        if current_sink() == self.take_access:
            set_sink(None)
        self.flush()
        super().close()

    def _flush_periodically(self) -> None:
        while not self._stopping.wait(FLUSH_SECONDS):
            self.flush()


def configure(log_format: LogFormat, *, level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every record at `level` and above to `stream` (stderr) in `log_format`."""
    handler = _Handler(stream or sys.stderr, JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    set_sink(handler.take_access)
    root.setLevel(level)
    # No format here prints them, and each costs microseconds on every record (every request).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in _QUIETER:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
