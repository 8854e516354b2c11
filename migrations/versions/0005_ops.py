"""A lease on media cache rows, so instances asking about the same cold title ask TMDB once.

Revision ID: 0005_ops
Revises: 0004_warm
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ops"
down_revision: str | None = "0004_warm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media_cache") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_cache") as batch:
        batch.drop_column("lease_until")
