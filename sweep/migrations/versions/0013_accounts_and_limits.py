"""accounts a district can run: site accounts bound to the fixed site, revocations every process
polls, log-in failures shared by every process, imports and handovers with their users, and
pre-registrations of ID numbers not in the registry

Revision ID: 0013_accounts_and_limits
Revises: 0012_walk_ins
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_accounts_and_limits"
down_revision = "0012_walk_ins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_revocations")),
    )
    with op.batch_alter_table("auth_revocations") as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_revocations_at"), ["at"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.create_index("ix_login_failures_address_at", ["address", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
        batch_op.create_index("ix_login_failures_username_address_at", ["username", "address", "at"], unique=False)

    with op.batch_alter_table("handovers") as batch_op:
        batch_op.add_column(sa.Column("courier_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_handovers_courier_id"), ["courier_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_handovers_courier_id_users"), "users", ["courier_id"], ["id"])

    # Pre-registrations carry the number's hash and mask themselves, so that one can exist without a person.
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.add_column(sa.Column("id_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("id_masked", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE preregistrations SET "
        "id_hash = (SELECT people.id_hash FROM people WHERE people.id = preregistrations.person_id), "
        "id_masked = (SELECT people.id_masked FROM people WHERE people.id = preregistrations.person_id)"
    )
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.alter_column("id_hash", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.alter_column("id_masked", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_preregistrations_campaign_id_id_hash"), ["campaign_id", "id_hash"])

    with op.batch_alter_table("registry_imports") as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_registry_imports_office_id"), ["office_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_registry_imports_office_id_offices"), "offices", ["office_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_registry_imports_user_id_users"), "users", ["user_id"], ["id"])

    # A site account follows its place, not one round's copy of it.
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("candidate_site_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE users SET candidate_site_id = "
        "(SELECT plan_sites.candidate_site_id FROM plan_sites WHERE plan_sites.id = users.plan_site_id) "
        "WHERE plan_site_id IS NOT NULL"
    )
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("fk_users_plan_site_id_plan_sites", type_="foreignkey")
        batch_op.create_foreign_key(batch_op.f("fk_users_candidate_site_id_candidate_sites"), "candidate_sites", ["candidate_site_id"], ["id"])
        batch_op.drop_column("plan_site_id")

    # The account the server's own work is recorded under; no password, never active, so it cannot log in.
    users = sa.table(
        "users", sa.column("username", sa.String), sa.column("display_name", sa.String), sa.column("role", sa.String),
        sa.column("active", sa.Boolean),
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM users WHERE username = 'system'")).scalar() == 0:
        op.bulk_insert(users, [{"username": "system", "display_name": "系统 system", "role": "admin", "active": False}])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("plan_site_id", sa.Integer(), nullable=True))
    # Back to one round's copy of the site: the latest round that opened it.
    op.execute(
        "UPDATE users SET plan_site_id = (SELECT max(plan_sites.id) FROM plan_sites "
        "WHERE plan_sites.candidate_site_id = users.candidate_site_id) WHERE candidate_site_id IS NOT NULL"
    )
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("fk_users_candidate_site_id_candidate_sites", type_="foreignkey")
        batch_op.create_foreign_key("fk_users_plan_site_id_plan_sites", "plan_sites", ["plan_site_id"], ["id"], ondelete="SET NULL")
        batch_op.drop_column("created_at")
        batch_op.drop_column("candidate_site_id")

    with op.batch_alter_table("registry_imports") as batch_op:
        batch_op.drop_constraint("fk_registry_imports_user_id_users", type_="foreignkey")
        batch_op.drop_constraint("fk_registry_imports_office_id_offices", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_registry_imports_office_id"))
        batch_op.drop_column("office_id")
        batch_op.drop_column("user_id")

    # Pre-registrations of numbers not in the registry cannot live without a person: they go.
    op.execute("DELETE FROM preregistrations WHERE person_id IS NULL")
    with op.batch_alter_table("preregistrations") as batch_op:
        batch_op.drop_constraint("uq_preregistrations_campaign_id_id_hash", type_="unique")
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("id_masked")
        batch_op.drop_column("id_hash")

    with op.batch_alter_table("handovers") as batch_op:
        batch_op.drop_constraint("fk_handovers_courier_id_users", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_handovers_courier_id"))
        batch_op.drop_column("courier_id")

    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.drop_index("ix_login_failures_username_address_at")
        batch_op.drop_index(batch_op.f("ix_login_failures_at"))
        batch_op.drop_index("ix_login_failures_address_at")
    op.drop_table("login_failures")
    with op.batch_alter_table("auth_revocations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_revocations_at"))
    op.drop_table("auth_revocations")
