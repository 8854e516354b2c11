"""trakt_connections.checked_at: when the dashboard last asked Trakt whether the grant still works.

Revision ID: 0003_dashboard
Revises: 0002_ratelimit
Create Date: 2026-12-06

Why a column: opening the dashboard checks the grant with one cheap `/users/settings` call, at most
every few minutes per user; the time of the last check must be shared by every instance, so it lives
on the connection row. Nullable: existing rows have never been checked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_dashboard"
down_revision: str | None = "0002_ratelimit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trakt_connections") as table:
        table.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trakt_connections") as table:
        table.drop_column("checked_at")
