"""PostgreSQL: notify `airdate_feed_rows` whenever what a feed lookup returns may have changed.

Revision ID: 0004_warm
Revises: 0003_dashboard
Create Date: 2026-12-06

Why triggers rather than a NOTIFY in each write path: every writer (the app, the CLI, `rekey`, a
user's deletion, another version of Airdate, an operator's psql) then invalidates the feed rows other
instances keep in memory (`app/feedrows.py`), so no write path can forget to. The payload is the user
id. The columns are exactly those the lookup reads: a feed's token hash, name, options, revocation
and owner; a user's name, time zone and data version; a connection's status. Poll counts and lease
bookkeeping do not notify. SQLite needs nothing: `PRAGMA data_version` already sees every commit.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_warm"
down_revision: str | None = "0003_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE FUNCTION airdate_feed_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
    PERFORM pg_notify('airdate_feed_rows', COALESCE(changed ->> 'user_id', changed ->> 'id'));
    RETURN NULL;
END
$$
"""

_TRIGGERS = {
    "airdate_feed_rows_feeds": (
        "feeds",
        "INSERT OR DELETE OR UPDATE OF token_hash, name, options, revoked_at, user_id",
    ),
    "airdate_feed_rows_users": ("users", "DELETE OR UPDATE OF trakt_username, timezone, data_version"),
    "airdate_feed_rows_connections": ("trakt_connections", "INSERT OR DELETE OR UPDATE OF status, user_id"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    for name, (table, events) in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION airdate_feed_rows_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, _) in _TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS airdate_feed_rows_changed()")
