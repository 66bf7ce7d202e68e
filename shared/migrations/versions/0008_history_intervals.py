"""The metric history stores change: one row per series and value interval, not per sample and snapshot.

`metric_samples` held every sample of every snapshot, although most do not change between two
snapshots: a quiet estate of six assets grew by 81 KB a snapshot. Now `metric_series` names each series
once (family and labels) and `metric_values` holds the intervals over which a series keeps one value
(or one straight line, for the values that move with the clock alone: ages and debt grow by `slope`
per second). The value of a series at a stored snapshot `at` is `value + slope x (at - valid_from)`
from the interval containing `at`, found through a GiST index on the interval: reading a snapshot stays
one indexed query. `snapshots` keeps one row per stored instant, the marker that says a snapshot exists.

The upgrade converts the stored history: runs of equal values in consecutive snapshots become one
interval each (slope 0). The downgrade expands the intervals back into one sample per snapshot,
recreating the daily partitions and their SECURITY DEFINER functions as revision 0006 made them.

Revision ID: 0008
Revises: 0007
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTITION_FUNCTIONS = (
    "trustline_create_metric_samples_partition(date)",
    "trustline_drop_metric_samples_partitions(timestamptz)",
)

# Gaps and islands: consecutive snapshots (by rank n) where a series keeps one value form one interval;
# it ends at the snapshot after its last one (open when that was the newest snapshot).
_SERIES = "INSERT INTO metric_series (name, labels) SELECT DISTINCT name, labels FROM metric_samples"
_CONVERT = """
WITH ranked AS (
    SELECT at, row_number() OVER (ORDER BY at) AS n, lead(at) OVER (ORDER BY at) AS next_at FROM snapshots
),
points AS (
    SELECT s.id, r.n, r.at, r.next_at, m.value,
           r.n - row_number() OVER (PARTITION BY s.id, m.value ORDER BY r.n) AS island
    FROM metric_samples m
    JOIN metric_series s ON s.name = m.name AND s.labels = m.labels
    JOIN ranked r ON r.at = m.snapshot_at
)
INSERT INTO metric_values (series_id, valid_from, valid_to, value, slope)
SELECT id, min(at), (array_agg(next_at ORDER BY n DESC))[1], value, 0
FROM points GROUP BY id, value, island
"""

_EXPAND = """
INSERT INTO metric_samples (snapshot_at, name, labels, value)
SELECT s.at, m.name, m.labels, v.value + v.slope * date_part('epoch', s.at - v.valid_from)
FROM snapshots s
JOIN metric_values v ON tstzrange(v.valid_from, v.valid_to) @> s.at
JOIN metric_series m ON m.id = v.series_id
"""


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
        sa.UniqueConstraint("name", "labels", name=op.f("uq_metric_series_name_labels")),
    )
    op.create_table(
        "metric_values",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("slope", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("valid_to > valid_from", name=op.f("ck_metric_values_interval")),
        sa.ForeignKeyConstraint(
            ["series_id"], ["metric_series.id"], name=op.f("fk_metric_values_series_id_metric_series")
        ),
        sa.PrimaryKeyConstraint("series_id", "valid_from", name=op.f("pk_metric_values")),
    )
    op.create_index(
        "ix_metric_values_interval",
        "metric_values",
        [sa.text("tstzrange(valid_from, valid_to)")],
        postgresql_using="gist",
    )
    op.create_index(op.f("ix_metric_values_valid_to"), "metric_values", ["valid_to"])
    op.create_index(op.f("ix_metric_values_valid_from"), "metric_values", ["valid_from"])
    op.execute(_SERIES)
    op.execute(_CONVERT)
    op.drop_index(op.f("ix_metric_samples_snapshot_at_name"), table_name="metric_samples")
    op.drop_table("metric_samples")  # its daily partitions go with it
    for signature in _PARTITION_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")


def downgrade() -> None:
    roles = importlib.import_module("trustline.shared.migrations.versions.0006_roles")
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
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
    for body in (roles._METRIC_PARTITION, roles._DROP_METRIC_PARTITIONS):
        op.execute(body.format(schema=schema))
    for signature in _PARTITION_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(
        "SELECT trustline_create_metric_samples_partition(d) "
        "FROM (SELECT DISTINCT (at AT TIME ZONE 'UTC')::date AS d FROM snapshots) days"
    )
    op.execute(_EXPAND)
    op.drop_index("ix_metric_values_interval", table_name="metric_values")
    op.drop_index(op.f("ix_metric_values_valid_to"), table_name="metric_values")
    op.drop_index(op.f("ix_metric_values_valid_from"), table_name="metric_values")
    op.drop_table("metric_values")
    op.drop_table("metric_series")
