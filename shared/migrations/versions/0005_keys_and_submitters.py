"""API keys carry the event sources they may write, an optional expiry and their last use; every raw
event records who submitted it (`http:<principal>` or `kafka:<topic>`; NULL for events stored before).

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


def downgrade() -> None:
    op.drop_column("raw_events", "submitted_by")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("api_keys", "expires_at")
    op.drop_column("api_keys", "sources")
