"""tube kinds: pooled (the round's pool size) or single (one person: key groups, retests)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tubes") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="pooled", nullable=False))
        batch_op.create_check_constraint("kind", "kind IN ('pooled', 'single')")
        batch_op.create_check_constraint("single_holds_one", "kind <> 'single' OR pool_size = 1")


def downgrade() -> None:
    with op.batch_alter_table("tubes") as batch_op:
        batch_op.drop_constraint("single_holds_one", type_="check")
        batch_op.drop_constraint("kind", type_="check")
        batch_op.drop_column("kind")
