"""Shared test plumbing: fixture plugins for databases (SQLite and PostgreSQL), the sandbox, the app
and the rig (the app's real parts, used without its HTTP front)."""

import os

import pytest

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.sandbox",
    "tests.fixtures.app",
    "tests.fixtures.rig",
    "tests.fixtures.web",
    "tests.fixtures.figures",
]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In strict mode (CI) a skipped or xfailed test fails the run: a missing tool is a failure there."""
    if os.environ.get("AIRDATE_STRICT") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", []) + reporter.stats.get("xfailed", [])
    if skipped:
        reporter.write_line(
            f"AIRDATE_STRICT: {len(skipped)} test(s) skipped; nothing may skip in CI", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
