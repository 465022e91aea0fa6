"""optimal plan: placement runs, fixed sites

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_sites", schema=None) as batch:
        batch.add_column(sa.Column("fixed", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("key_slot_minutes", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("home_teams", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("mean_walk_m", sa.Float(), server_default="0", nullable=False))
        batch.add_column(sa.Column("mean_wait_minutes", sa.Float(), server_default="0", nullable=False))
        batch.add_column(sa.Column("queue_p95", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("queue_room", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("plan_buildings", schema=None) as batch:
        batch.add_column(sa.Column("key_people", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("home_people", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("home_visit_minute", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("beyond_walk_limit", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "plan_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("bound", sa.Float(), nullable=False),
        sa.Column("gap", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.CheckConstraint("gap >= 0", name=op.f("ck_plan_runs_gap_nonnegative")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_plan_runs_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_runs")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_plan_runs_campaign_id")),
    )


def downgrade() -> None:
    op.drop_table("plan_runs")
    with op.batch_alter_table("plan_buildings", schema=None) as batch:
        for name in ("beyond_walk_limit", "home_visit_minute", "home_people", "key_people"):
            batch.drop_column(name)
    with op.batch_alter_table("plan_sites", schema=None) as batch:
        for name in ("queue_room", "queue_p95", "mean_wait_minutes", "mean_walk_m", "home_teams", "key_slot_minutes", "fixed"):
            batch.drop_column(name)
