"""The iCalendar referee: a strict linter of our own plus adapters over the real parsers calendar apps use.

Kept under tests/ because only tests and benchmarks judge feeds with it; the product never imports it.
Typical use in a test::

    from tests.conformance.lint import lint
    from tests.conformance.parsers import PARSERS, parse_all

    assert [f for f in lint(body) if f.severity == "error"] == []
    for name, calendar in parse_all(body).items():   # raises ParserRejected on the first refusal
        ...  # compare calendar.events with the entries the feed was rendered from

Needs scripts/system-deps.sh (gcc, libical-dev, calcurse, node) and `npm ci --prefix tests/conformance/node`.
"""
