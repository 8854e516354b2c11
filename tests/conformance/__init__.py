"""The iCalendar referee: a strict linter of our own plus adapters over the real parsers calendar apps use.

Kept under tests/ because only tests and benchmarks judge feeds with it; the product never imports it.
"""
