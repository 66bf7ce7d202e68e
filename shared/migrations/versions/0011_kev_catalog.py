"""The known-exploited catalog (CISA KEV) as versioned state: `kev_catalog_versions`.

Revision ID: 0011_kev
Revises: 0010_live_changes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_kev"
down_revision: str | None = "0010_live_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kev_catalog_versions",
        sa.Column("vulnerability_id", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_added", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("vulnerability_id", "valid_from", name=op.f("pk_kev_catalog_versions")),
    )


def downgrade() -> None:
    op.drop_table("kev_catalog_versions")
