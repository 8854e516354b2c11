"""Reading Trakt's JSON answers field by field: a missing or wrongly typed field is a `BadResponse`.

Why checked one by one: an answer of the wrong shape must fail where it is read, as an error of the
family, naming the field and never its value (which may be a token), rather than as a `TypeError` or
`KeyError` far from the answer that carried it. Both halves of the client read their answers here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.errors import BadResponse


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadResponse(f"Trakt {what}: expected a JSON object")
    return value


def json_str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise BadResponse(f"Trakt response: {key!r} missing or not a string")
    return value


def optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def json_int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadResponse(f"Trakt response: {key!r} missing or not an integer")
    return value
