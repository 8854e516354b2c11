"""Feed options: defaults, strict parsing, and the stored form."""

from __future__ import annotations

import pytest

from app.domain.options import FeedOptions, OptionError, parse_options


def test_defaults_are_the_documented_ones() -> None:
    options = FeedOptions()
    assert options.sources == ("shows", "movies")
    assert (options.past_days, options.future_days) == (7, 60)
    assert (options.all_day, options.alarm, options.group, options.specials) == (False, None, True, False)
    assert (options.hide_watched, options.tz) == (False, None)


def test_every_option_parses() -> None:
    options = parse_options(
        {
            "sources": "premieres, finales,premieres",
            "past_days": "0",
            "future_days": "365",
            "all_day": "true",
            "alarm": "30",
            "group": "0",
            "specials": "1",
            "hide_watched": "true",
            "tz": "Asia/Tokyo",
        }
    )
    assert options == FeedOptions(
        sources=("premieres", "finales"),
        past_days=0,
        future_days=365,
        all_day=True,
        alarm=30,
        group=False,
        specials=True,
        hide_watched=True,
        tz="Asia/Tokyo",
    )


def test_overrides_apply_on_top_of_stored_options() -> None:
    stored = FeedOptions(sources=("movies",), alarm=15)
    expected = FeedOptions(sources=("movies",), alarm=15, past_days=3)
    assert parse_options({"past_days": "3"}, stored) == expected
    assert parse_options({"alarm": "off"}, stored).alarm is None
    assert parse_options({"tz": ""}, FeedOptions(tz="UTC")).tz is None


@pytest.mark.parametrize(
    ("values", "option", "allowed"),
    [
        ({"sources": ""}, "sources", "shows, premieres, new, finales, movies, streaming, dvd"),
        ({"sources": "shows,anime"}, "sources", "'anime'"),
        ({"past_days": "91"}, "past_days", "0 to 90"),
        ({"future_days": "366"}, "future_days", "0 to 365"),
        ({"future_days": "1.5"}, "future_days", "whole number"),
        ({"alarm": "10081"}, "alarm", "0 to 10080"),
        ({"group": "sometimes"}, "group", "true, false"),
        ({"tz": "EST5EDT/Nowhere"}, "tz", "IANA"),
        ({"tz": "../../etc/passwd"}, "tz", "IANA"),
        ({"days": "7"}, "days", "allowed: "),
    ],
)
def test_bad_options_name_the_option_and_what_is_allowed(
    values: dict[str, str], option: str, allowed: str
) -> None:
    with pytest.raises(OptionError) as caught:
        parse_options(values)
    assert caught.value.option == option
    assert str(caught.value).startswith(f"{option}: ")
    assert allowed in str(caught.value)


def test_stored_json_round_trips_and_tolerates_old_keys() -> None:
    options = FeedOptions(sources=("shows", "dvd"), all_day=True, alarm=60, tz="Europe/Berlin")
    stored = options.to_json()
    assert stored["sources"] == ["shows", "dvd"]
    assert FeedOptions.from_json(stored) == options
    assert FeedOptions.from_json({**stored, "retired_option": 1}) == options
    assert FeedOptions.from_json({}) == FeedOptions()
