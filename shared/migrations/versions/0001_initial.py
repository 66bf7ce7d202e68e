"""Raw events, asset and vulnerability-cycle state, snapshots and metric history.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_versions",
        sa.Column("asset_id", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("os_family", sa.Text(), nullable=False),
        sa.Column("business_unit", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("edr_required", sa.Boolean(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "valid_from", name=op.f("pk_asset_versions")),
    )
    op.create_index(op.f("ix_asset_versions_valid_from"), "asset_versions", ["valid_from"], unique=False)
    op.create_table(
        "raw_events",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_raw_events")),
    )
    op.create_index(
        op.f("ix_raw_events_domain_key_time"), "raw_events", ["domain", "key", "time"], unique=False
    )
    op.create_table(
        "snapshots",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("writer", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("at", name=op.f("pk_snapshots")),
    )
    op.create_table(
        "vuln_cycle_versions",
        sa.Column("asset_id", sa.Text(), nullable=False),
        sa.Column("vulnerability_id", sa.Text(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remediated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("kev", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "asset_id", "vulnerability_id", "cycle", "valid_from", name=op.f("pk_vuln_cycle_versions")
        ),
    )
    op.create_index(
        op.f("ix_vuln_cycle_versions_remediated_at"), "vuln_cycle_versions", ["remediated_at"], unique=False
    )
    op.create_index(
        op.f("ix_vuln_cycle_versions_valid_from"), "vuln_cycle_versions", ["valid_from"], unique=False
    )
    op.create_table(
        "metric_samples",
        sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_at"],
            ["snapshots.at"],
            name=op.f("fk_metric_samples_snapshot_at_snapshots"),
            ondelete="CASCADE",
        ),
        postgresql_partition_by="RANGE (snapshot_at)",
    )
    op.create_index(
        op.f("ix_metric_samples_snapshot_at_name"), "metric_samples", ["snapshot_at", "name"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_metric_samples_snapshot_at_name"), table_name="metric_samples")
    op.drop_table("metric_samples")
    op.drop_index(op.f("ix_vuln_cycle_versions_valid_from"), table_name="vuln_cycle_versions")
    op.drop_index(op.f("ix_vuln_cycle_versions_remediated_at"), table_name="vuln_cycle_versions")
    op.drop_table("vuln_cycle_versions")
    op.drop_table("snapshots")
    op.drop_index(op.f("ix_raw_events_domain_key_time"), table_name="raw_events")
    op.drop_table("raw_events")
    op.drop_index(op.f("ix_asset_versions_valid_from"), table_name="asset_versions")
    op.drop_table("asset_versions")
