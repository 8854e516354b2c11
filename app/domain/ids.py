"""What an upstream id must look like before the product uses it.

Why one module: Trakt documents `trakt`, `tmdb` and `tvdb` ids as positive integers and `imdb` ids as
`tt` + digits, but upstream data is not always what it documents (`{}`, `""`, `-1`, `2**40`). An id
that leaves here valid is safe to put in a URL path (TMDB's `/3/find/{id}`), in a cache key and in an
INTEGER column; anything else is treated as absent.
"""

from __future__ import annotations

import re
from typing import Any

MAX_ID = 2**31 - 1  # the media cache keeps TMDB ids in a 32-bit INTEGER column
_IMDB = re.compile(r"tt\d{1,12}")
_DIGITS = re.compile(r"\d{1,12}")


def positive_id(raw: Any) -> int | None:
    """A positive integer id (an int, or a string of ASCII digits), else None."""
    if isinstance(raw, str) and _DIGITS.fullmatch(raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_ID:
        return None
    return raw


def imdb_id(raw: Any) -> str | None:
    """An IMDb id (`tt0944947`), else None."""
    return raw if isinstance(raw, str) and _IMDB.fullmatch(raw) else None


def is_external_id(source: str, value: str) -> bool:
    """Whether `value` is a well-formed id of `source` ("imdb" or "tvdb"), safe in a URL path."""
    if source == "imdb":
        return imdb_id(value) is not None
    return source == "tvdb" and positive_id(value) is not None
