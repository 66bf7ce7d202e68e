"""API keys carry the event sources they may write, an optional expiry and their last use; every raw
event records who submitted it (`http:<principal>` or `kafka:<topic>`; NULL for events stored before);
operators can tell the ingest workers to skip or quarantine one Kafka record (`ingest_overrides`).

Keys created before this revision have no source pattern, so they can no longer write events until
they are re-created with `--source`: a key that could speak for every tool was the defect.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("sources", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    # Nullable without a default: PostgreSQL adds it to every partition without rewriting a row.
    op.add_column("raw_events", sa.Column("submitted_by", sa.Text(), nullable=True))
    op.create_table(
        "ingest_overrides",
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('skip', 'quarantine')", name=op.f("ck_ingest_overrides_action")),
        sa.PrimaryKeyConstraint("topic", "partition", "offset", name=op.f("pk_ingest_overrides")),
    )


def downgrade() -> None:
    op.drop_table("ingest_overrides")
    op.drop_column("raw_events", "submitted_by")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("api_keys", "expires_at")
    op.drop_column("api_keys", "sources")
