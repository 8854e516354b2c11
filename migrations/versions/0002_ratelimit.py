"""Per-user Trakt limits: a 429's "not before" and the GET budget, shared by every instance.

Revision ID: 0002_ratelimit
Revises: 0001
Create Date: 2026-12-06

One row per user (app.store.tables.TraktLimit); rows are created on a user's first Trakt call, so existing
databases need no backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ratelimit"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trakt_limits",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_calls", sa.Integer(), nullable=False),
        sa.Column("previous_calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trakt_limits_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_trakt_limits")),
    )


def downgrade() -> None:
    op.drop_table("trakt_limits")
