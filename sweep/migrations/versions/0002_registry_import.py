"""registry import: source rows, person history

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_encrypted", sa.LargeBinary(length=64), nullable=True))

    op.create_table(
        "registry_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('people', 'buildings', 'grids', 'sites', 'staff')", name=op.f("ck_registry_imports_kind")
        ),
        sa.CheckConstraint(
            "total_rows >= 0 AND imported >= 0 AND updated >= 0 AND unchanged >= 0 AND rejected >= 0",
            name=op.f("ck_registry_imports_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_registry_imports_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_imports")),
    )
    with op.batch_alter_table("registry_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_imports_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registry_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_imports_at"))
    op.drop_table("registry_imports")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("id_encrypted")
