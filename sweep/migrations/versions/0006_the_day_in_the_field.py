"""the day in the field: readiness check-ins, staff arrivals, pre-registrations, who sealed and packed

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_arrivals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("plan_site_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_staff_arrivals_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_site_id"], ["plan_sites.id"], name=op.f("fk_staff_arrivals_plan_site_id_plan_sites"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_arrivals_staff_id_staff")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_staff_arrivals_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_arrivals")),
        sa.UniqueConstraint("campaign_id", "staff_id", name=op.f("uq_staff_arrivals_campaign_id_staff_id")),
    )
    with op.batch_alter_table("staff_arrivals") as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_arrivals_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_arrivals_plan_site_id"), ["plan_site_id"], unique=False)

    op.create_table(
        "preregistrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_preregistrations_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_preregistrations_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preregistrations")),
        sa.UniqueConstraint("campaign_id", "code", name=op.f("uq_preregistrations_campaign_id_code")),
        sa.UniqueConstraint("campaign_id", "person_id", name=op.f("uq_preregistrations_campaign_id_person_id")),
    )
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.create_index(batch_op.f("ix_preregistrations_campaign_id"), ["campaign_id"], unique=False)

    with op.batch_alter_table("readiness_items") as batch_op:
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=200), nullable=True))
    with op.batch_alter_table("boxes") as batch_op:
        batch_op.add_column(sa.Column("opened_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_boxes_opened_by_users"), "users", ["opened_by"], ["id"])
    with op.batch_alter_table("tubes") as batch_op:
        batch_op.add_column(sa.Column("sealed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("packed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("packed_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_tubes_sealed_by_users"), "users", ["sealed_by"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_tubes_packed_by_users"), "users", ["packed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tubes") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tubes_packed_by_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tubes_sealed_by_users"), type_="foreignkey")
        batch_op.drop_column("packed_by")
        batch_op.drop_column("packed_at")
        batch_op.drop_column("sealed_by")
    with op.batch_alter_table("boxes") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_boxes_opened_by_users"), type_="foreignkey")
        batch_op.drop_column("opened_by")
    with op.batch_alter_table("readiness_items") as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("checked_at")
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_preregistrations_campaign_id"))
    op.drop_table("preregistrations")
    with op.batch_alter_table("staff_arrivals") as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_arrivals_plan_site_id"))
        batch_op.drop_index(batch_op.f("ix_staff_arrivals_campaign_id"))
    op.drop_table("staff_arrivals")
