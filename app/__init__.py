"""Airdate: a person's Trakt calendar as a live iCalendar feed."""

__version__ = "0.1.0"
