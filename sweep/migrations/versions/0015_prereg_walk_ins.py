"""a pre-registration of a number not in the registry keeps it sealed, for the walk-in the desk completes

Revision ID: 0015_prereg_walk_ins
Revises: 0013_accounts_and_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_prereg_walk_ins"
down_revision = "0013_accounts_and_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.add_column(sa.Column("id_encrypted", sa.LargeBinary(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.drop_column("id_encrypted")
