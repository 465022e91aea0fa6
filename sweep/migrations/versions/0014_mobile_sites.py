"""mobile sites (流动采样点) in a plan: a site's kind is marked, and its longest walk is kept

Revision ID: 0014_mobile_sites
Revises: 0013_accounts_and_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_mobile_sites"
down_revision = "0013_accounts_and_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_sites") as batch_op:
        batch_op.add_column(sa.Column("mobile", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("max_walk_m", sa.Float(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("plan_sites") as batch_op:
        batch_op.drop_column("max_walk_m")
        batch_op.drop_column("mobile")
