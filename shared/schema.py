"""Table definitions: the single source for migrations and queries."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, *, nullable: bool = False, primary_key: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable, primary_key=primary_key)


# Every accepted event, once per (source, id): the ground truth every state table folds from.
raw_events = Table(
    "raw_events",
    metadata,
    Column("source", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("key", Text, nullable=False),
    _ts("time"),
    Column("subject", Text),
    Column("data", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "domain", "key", "time"),
    Index(None, "time"),
)

# Asset state as versions: the row valid at T is the fold of asset events with time <= T.
asset_versions = Table(
    "asset_versions",
    metadata,
    Column("asset_id", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("hostname", Text),
    Column("kind", Text, nullable=False),
    Column("os_family", Text, nullable=False),
    Column("business_unit", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("edr_required", Boolean, nullable=False),
    Column("retired", Boolean, nullable=False),
    Index(None, "valid_from"),
)

# Vulnerability cycles (detected -> remediated) as versions: a new version whenever the
# severity changes within the cycle, so the severity as of any T is exact.
vuln_cycle_versions = Table(
    "vuln_cycle_versions",
    metadata,
    Column("asset_id", Text, primary_key=True),
    Column("vulnerability_id", Text, primary_key=True),
    # ordinal of the cycle within its (asset, vulnerability): 0 for the first detection
    Column("cycle", Integer, primary_key=True),
    _ts("detected_at"),
    _ts("remediated_at", nullable=True),
    Column("severity", Text, nullable=False),
    Column("kev", Boolean, nullable=False),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Index(None, "valid_from"),
    Index(None, "remediated_at"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("at", DateTime(timezone=True), primary_key=True),
    _ts("computed_at"),
    Column("duration_seconds", Float, nullable=False),
    Column("samples", Integer, nullable=False),
)

# One row per exported sample of a snapshot: the metric history.
metric_samples = Table(
    "metric_samples",
    metadata,
    Column(
        "snapshot_at", DateTime(timezone=True), ForeignKey("snapshots.at", ondelete="CASCADE"), nullable=False
    ),
    Column("name", Text, nullable=False),
    Column("labels", JSONB, nullable=False),
    Column("value", Float, nullable=False),
    Index(None, "snapshot_at", "name"),
)
