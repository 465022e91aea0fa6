"""chain of custody and key groups on a real registry

Revision ID: 0011_custody
Revises: 0009

A hand-over names the rostered courier; a key group says whether its people are sampled one to a
tube; a key-group test says where it came from, and one person's test at one moment is stored once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_custody"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('courier_staff_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_handovers_courier_staff_id_staff'), 'staff', ['courier_staff_id'], ['id'])

    with op.batch_alter_table('key_group_tests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='manual', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_key_group_tests_person_id_sampled_at'), ['person_id', 'sampled_at'])
        batch_op.create_check_constraint(batch_op.f('ck_key_group_tests_source'), "source IN ('manual', 'import')")

    with op.batch_alter_table('key_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('single_tube', sa.Boolean(), server_default=sa.true(), nullable=False))

def downgrade() -> None:
    with op.batch_alter_table('key_groups', schema=None) as batch_op:
        batch_op.drop_column('single_tube')

    with op.batch_alter_table('key_group_tests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_key_group_tests_source'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_key_group_tests_person_id_sampled_at'), type_='unique')
        batch_op.drop_column('source')

    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_handovers_courier_staff_id_staff'), type_='foreignkey')
        batch_op.drop_column('courier_staff_id')

