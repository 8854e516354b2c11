"""A stand-in Trakt + TMDB that speaks their real HTTP APIs on loopback.

Used by the tests, the benchmarks and `airdate demo`; imports nothing of the product.
"""

from __future__ import annotations

import uvicorn

from app.sandbox.app import Sandbox, create_sandbox


def run(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve a fresh sandbox on the real clock until interrupted (blocking)."""
    uvicorn.run(create_sandbox().app, host=host, port=port, log_level="info")


__all__ = ["Sandbox", "create_sandbox", "run"]
