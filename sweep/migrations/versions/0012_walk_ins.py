"""walk-ins: people registered at the desk, in no building until their community confirms them

Revision ID: 0012_walk_ins
Revises: 0011_custody
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_walk_ins"
down_revision = "0011_custody"
branch_labels = None
depends_on = None

_AREAS = ("building_id", "grid_id", "community_id", "office_id")


def upgrade() -> None:
    with op.batch_alter_table("people") as batch_op:
        for column in _AREAS:
            batch_op.alter_column(column, existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "walk_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("plan_site_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("registered_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("reason IN ('visitor', 'new_resident', 'worker', 'other')", name=op.f("ck_walk_ins_reason")),
        sa.CheckConstraint("building_id IS NOT NULL OR address IS NOT NULL", name=op.f("ck_walk_ins_somewhere")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_walk_ins_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_walk_ins_person_id_people")),
        sa.ForeignKeyConstraint(["plan_site_id"], ["plan_sites.id"], name=op.f("fk_walk_ins_plan_site_id_plan_sites"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], name=op.f("fk_walk_ins_building_id_buildings")),
        sa.ForeignKeyConstraint(["registered_by"], ["users.id"], name=op.f("fk_walk_ins_registered_by_users")),
        sa.ForeignKeyConstraint(["confirmed_by"], ["users.id"], name=op.f("fk_walk_ins_confirmed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walk_ins")),
        sa.UniqueConstraint("campaign_id", "person_id", name=op.f("uq_walk_ins_campaign_id_person_id")),
    )
    with op.batch_alter_table("walk_ins") as batch_op:
        batch_op.create_index(batch_op.f("ix_walk_ins_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_walk_ins_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_walk_ins_plan_site_id"), ["plan_site_id"], unique=False)


def downgrade() -> None:
    op.drop_table("walk_ins")
    # People registered at a desk and never confirmed have no building to go back to.
    op.execute("DELETE FROM samples WHERE person_id IN (SELECT id FROM people WHERE building_id IS NULL)")
    op.execute("DELETE FROM people WHERE building_id IS NULL")
    with op.batch_alter_table("people") as batch_op:
        for column in _AREAS:
            batch_op.alter_column(column, existing_type=sa.Integer(), nullable=False)
