"""Where `airdate serve` writes its log: one stream handler on the root logger, text or JSON lines.

Why here and not uvicorn's config: with uvicorn's own configuration only uvicorn's loggers had a
handler, so the app's records were lost below WARNING, and its access log printed whole feed URLs.
Now every record (uvicorn's included) goes through one formatter chosen by `AIRDATE_LOG_FORMAT`;
`json` gives one object per line for log collectors, with access records as named fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from app.core.config import LogFormat
from app.web.access_log import ACCESS_LOGGER, FIELDS

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs every outbound request at INFO: one line per Trakt/TMDB call drowns the access log.
_QUIETER = ("httpx", "httpcore")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; an access record's arguments become its named fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple):
            data.update(zip(FIELDS, record.args, strict=False))
            data["duration_ms"] = round(data["duration_ms"], 2)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class _Handler(logging.StreamHandler[IO[str]]):
    """Ours, so configuring twice replaces it instead of printing every line twice."""


def configure(log_format: LogFormat, *, level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every record at `level` and above to `stream` (stderr) in `log_format`."""
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # No format here prints them, and each costs microseconds on every record (every request).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in _QUIETER:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
