"""Watching the SQL an engine really sends, for tests about how many statements a path costs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


def statements(engine: AsyncEngine, prefix: str) -> list[str]:
    """Every SQL statement `engine` runs from now on that starts with `prefix`, as it runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(prefix.upper()):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen
