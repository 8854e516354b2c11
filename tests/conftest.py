"""Shared test plumbing: fixture plugins for databases (SQLite and PostgreSQL), the sandbox and the app."""

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.sandbox",
]
