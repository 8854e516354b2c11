"""A feed's stored options with a URL's overrides on top, remembered per distinct question.

Why remembered: every poll of a feed asks the same question (the same stored JSON text, the same
query string), so a warm poll should neither decode JSON nor validate options again. Bounded by
clearing: the memo holds about one answer per live feed and override variant, so a full memo is rare
and refilling it is cheap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from app.domain.options import FeedOptions, parse_options

OPTIONS_MEMO = 4096


class OptionsMemo:
    def __init__(self, size: int = OPTIONS_MEMO) -> None:
        self._size = size
        self._answers: dict[tuple[str, tuple[tuple[str, str], ...]], FeedOptions] = {}

    def resolve(self, stored_json: str, overrides: Mapping[str, str]) -> FeedOptions:
        """The options the feed is rendered with; raises OptionError for a bad override."""
        key = (stored_json, tuple(sorted(overrides.items())) if overrides else ())
        options = self._answers.get(key)
        if options is None:
            options = parse_options(overrides, FeedOptions.from_json(json.loads(stored_json)))
            if len(self._answers) >= self._size:
                self._answers.clear()
            self._answers[key] = options
        return options
