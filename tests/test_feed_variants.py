"""The key of a URL-override variant's SEQUENCE history must not move when the options type grows.

It was `sha256(repr(options))`: adding any field to `FeedOptions` changed every variant's key, so
every subscriber of an overriding URL silently lost its SEQUENCE history (Google then ignores changed
events). The key now hashes the options as the URL states them: only the values that differ from
the defaults, as text, in sorted JSON.
"""

from __future__ import annotations

import hashlib

from app.domain.options import FeedOptions
from app.feeds.revisions import variant_key


def test_the_variant_key_of_a_known_option_set_is_pinned() -> None:
    options = FeedOptions(sources=("shows",), alarm=30, all_day=True, tz="Europe/Berlin")
    assert variant_key(options) == "39b7315cbf5c474b"


def test_the_key_covers_only_what_differs_from_the_defaults() -> None:
    # So a new option with a default leaves every existing key as it was.
    expected = hashlib.sha256(b'{"alarm":"30"}').hexdigest()[:16]
    assert variant_key(FeedOptions(alarm=30)) == expected
    assert variant_key(FeedOptions(past_days=14)) != variant_key(FeedOptions(future_days=14))
