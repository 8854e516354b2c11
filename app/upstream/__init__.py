"""Trakt and TMDB: the clients, the one retrying request they share, and valid Trakt tokens per user.

No httpx exception leaves this package: callers see the error family of `app.core.errors`.
"""
