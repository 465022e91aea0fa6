"""a pre-registration of a number not in the registry keeps it sealed, for the walk-in the desk
completes; a key group pooled at a size of its own (5混1, say)

Revision ID: 0015_walk_in_codes_group_pools
Revises: 0013_accounts_and_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_walk_in_codes_group_pools"
down_revision = "0014_mobile_sites"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.add_column(sa.Column("id_encrypted", sa.LargeBinary(length=64), nullable=True))
    with op.batch_alter_table("key_groups") as batch_op:
        batch_op.add_column(sa.Column("pool_size", sa.Integer(), nullable=True))
        batch_op.create_check_constraint("pool_size", "pool_size IS NULL OR (pool_size >= 2 AND pool_size <= 20)")
        batch_op.create_check_constraint("single_or_pooled", "NOT single_tube OR pool_size IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("key_groups") as batch_op:
        batch_op.drop_constraint("single_or_pooled", type_="check")
        batch_op.drop_constraint("pool_size", type_="check")
        batch_op.drop_column("pool_size")
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.drop_column("id_encrypted")
