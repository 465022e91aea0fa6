"""the SOP's checklist templates, installed with the schema

Revision ID: 0008
Revises: 0007

Reading the templates used to install them on first use, so a GET wrote to the database.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sweep.inspect.service import install_templates

    with Session(bind=op.get_bind()) as session:
        install_templates(session=session)


def downgrade() -> None:
    # Templates used by an inspection stay: the visit's checks refer to their items.
    op.execute(
        "DELETE FROM checklist_templates WHERE code IN ('site', 'home') "
        "AND id NOT IN (SELECT template_id FROM inspections)"
    )
