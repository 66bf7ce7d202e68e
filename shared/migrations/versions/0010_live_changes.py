"""The live snapshot costs what changed: ingest records which entities each batch touched.

`entity_changes` gets one row per (domain, key) a batch refolded, in the same transaction as the state,
so the aggregator leader recomputes those entities only (and deletes exactly the rows it processed).
It is append-only with a sequence: rows of concurrent batches never collide, and the leader never
relies on the order in which sequence values commit. Cloud checks get an index on `control_id`, so a
risk acceptance decided on a control finds the checks it names without scanning them all.

Revision ID: 0010_live_changes
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_live_changes"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entity_changes",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_entity_changes")),
    )
    op.create_index(
        op.f("ix_cloud_check_versions_control_id"), "cloud_check_versions", ["control_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cloud_check_versions_control_id"), table_name="cloud_check_versions")
    op.drop_table("entity_changes")
