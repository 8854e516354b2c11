"""A stand-in Trakt + TMDB that speaks their real HTTP APIs on loopback.

Used by the tests, the benchmarks and `airdate demo`; imports nothing of the product.
"""

from __future__ import annotations

import uvicorn

from app.sandbox.app import Sandbox, create_sandbox


def run(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve a fresh sandbox on the real clock until interrupted (blocking)."""
    # No uvicorn Server header: fault pages must look like Cloudflare's, not like uvicorn's.
    uvicorn.run(create_sandbox().app, host=host, port=port, log_level="info", server_header=False)


__all__ = ["Sandbox", "create_sandbox", "run"]
