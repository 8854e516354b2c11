"""Reading Trakt's answers field by field (`app.upstream.trakt_fields`): pure, no sandbox needed."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.errors import BadResponse
from app.upstream.trakt_fields import json_int, json_object, json_str, optional_str


@pytest.mark.parametrize("value", [None, [], "{}", 1])
def test_anything_but_an_object_is_a_bad_response_naming_what_was_read(value: Any) -> None:
    with pytest.raises(BadResponse, match=r"^Trakt token response: expected a JSON object$"):
        json_object(value, "token response")
    assert json_object({"a": 1}, "token response") == {"a": 1}


@pytest.mark.parametrize("answer", [{}, {"access_token": ""}, {"access_token": 7}, {"access_token": None}])
def test_a_required_string_must_be_a_non_empty_string(answer: dict[str, Any]) -> None:
    with pytest.raises(BadResponse, match="'access_token' missing or not a string"):
        json_str(answer, "access_token")
    assert json_str({"access_token": "t"}, "access_token") == "t"


@pytest.mark.parametrize("answer", [{}, {"expires_in": "7"}, {"expires_in": 7.0}, {"expires_in": True}])
def test_a_required_integer_is_an_int_and_not_a_bool(answer: dict[str, Any]) -> None:
    with pytest.raises(BadResponse, match="'expires_in' missing or not an integer"):
        json_int(answer, "expires_in")
    assert json_int({"expires_in": 7}, "expires_in") == 7


def test_an_optional_string_is_none_unless_a_non_empty_string() -> None:
    assert [optional_str(answer, "uuid") for answer in ({}, {"uuid": ""}, {"uuid": 3}, {"uuid": "u"})] == [
        None,
        None,
        None,
        "u",
    ]


def test_a_secret_value_never_reaches_the_message() -> None:
    with pytest.raises(BadResponse) as caught:
        json_int({"access_token": "secret-token-value"}, "access_token")
    assert "secret-token-value" not in str(caught.value)
