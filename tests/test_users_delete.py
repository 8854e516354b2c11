"""`Accounts.delete_user` and `airdate users delete`: a person's data goes, on SQLite and PostgreSQL.

The web page's "delete my data" (tests/test_web_flows.py) and this verb share `Accounts.delete_user`;
here the command runs in this process (click's runner, the app's real database) beside the running
app, on both backends, with the sandbox checking that the grant was revoked and the app that the feed
URLs now answer 404; and a session cookie kept elsewhere opens nothing afterwards, not even the
account that gets the deleted one's id.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from app.web.session import SESSION_COOKIE
from tests.fixtures.app import RunningApp
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.web import csrf_of, web_sign_in
from tests.support.cli import env_for, invoke_airdate


def test_users_delete_revokes_and_deletes_everything_of_that_user_only(
    running_app: RunningApp, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    demo = running_app.connect()
    running_app.create_feed("Second")
    sandbox.state.configure({"next_user": {"slug": "other"}})
    other = running_app.connect()
    demo_feeds = [feed for feed in running_app.feeds() if feed.user_id == demo.user_id]
    demo_urls = [f"{running_app.url}/feeds/{feed.token}.ics" for feed in demo_feeds]
    assert len(demo_urls) == 2
    for url in demo_urls:
        assert httpx.get(url).status_code == 200  # renders, so caches and feed events exist
    env = env_for(running_app.settings)

    refused = invoke_airdate("users", "delete", "demo", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert httpx.get(demo_urls[0]).status_code == 200  # without --yes nothing happened

    done = invoke_airdate("users", "delete", "demo", "--yes", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "deleted user 'demo' and 2 feed(s)" in done.stdout
    assert sandbox.state.count("/oauth/revoke") == 1
    assert not any(t.valid for t in sandbox.state.auth.tokens.values() if t.user.slug == "demo")
    assert any(t.valid for t in sandbox.state.auth.tokens.values() if t.user.slug == "other")
    for url in demo_urls:
        assert httpx.get(url).status_code == 404
    assert [feed.user_id for feed in running_app.feeds()] == [other.user_id]
    assert httpx.get(f"{running_app.url}/feeds/{other.token}.ics").status_code == 200

    again = invoke_airdate("users", "delete", "demo", "--yes", env=env, cwd=tmp_path)
    assert again.returncode == 1 and again.stderr.startswith("airdate: no user 'demo'")


def test_data_is_deleted_even_when_trakt_cannot_revoke(
    running_app: RunningApp, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    demo = running_app.connect()
    sandbox.state.add_faults([{"prefix": "/oauth/revoke", "status": 503}])
    done = invoke_airdate("users", "delete", "demo", "--yes", env=env_for(running_app.settings), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Connected apps" in done.stderr  # told to finish the revocation on Trakt's side
    assert httpx.get(f"{running_app.url}/feeds/{demo.token}.ics").status_code == 404
    assert running_app.feeds() == []


NEW_FEED = {"name": "Planted", "sources": "shows", "past_days": "7", "future_days": "30"}


def assert_signed_out(app: RunningApp, session_cookie: str, csrf: str) -> None:
    """The cookie is answered like no cookie at all: pages and forms send it to the landing page."""
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_cookie}"}  # as sent, whatever the answers set
    for path in ("/dashboard", "/dashboard/feeds/new", "/dashboard/delete"):
        page = httpx.get(app.url + path, headers=cookie)
        assert (page.status_code, page.headers.get("location")) == (303, "/"), path
    planted = httpx.post(app.url + "/dashboard/feeds", data={"csrf": csrf, **NEW_FEED}, headers=cookie)
    assert (planted.status_code, planted.headers.get("location")) == (303, "/")
    assert "Planted" not in {feed.name for feed in app.feeds()}


def test_a_session_opens_only_the_account_it_was_issued_for(
    running_app: RunningApp, sandbox: RunningSandbox
) -> None:
    """A session kept on a second device outlives its account deleted on the first one; it must then be
    signed out, even once SQLite gives the deleted user's id to the next sign-up: the same person
    signing up again a second later, and then someone else."""
    holder = web_sign_in(running_app.url, sandbox, "alice")
    for successor in ("alice", "bob"):
        user_id = running_app.feeds()[0].user_id
        kept, csrf = holder.cookies[SESSION_COOKIE], csrf_of(holder)
        assert holder.post("/dashboard/delete", data={"csrf": csrf}).status_code == 303
        assert_signed_out(running_app, kept, csrf)
        sandbox.clock.advance(1)
        holder = web_sign_in(running_app.url, sandbox, successor)
        if running_app.settings.database_url.startswith("sqlite"):
            assert running_app.feeds()[0].user_id == user_id  # the id was reused: the case that matters
        assert_signed_out(running_app, kept, csrf)
        assert holder.get("/dashboard").status_code == 200
