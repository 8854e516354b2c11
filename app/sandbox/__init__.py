"""A stand-in Trakt + TMDB that speaks their real HTTP APIs on loopback.

Used by the tests, the benchmarks and `airdate demo`; imports nothing of the product.
"""

from __future__ import annotations

from app.sandbox.app import Sandbox, create_sandbox

__all__ = ["Sandbox", "create_sandbox"]
