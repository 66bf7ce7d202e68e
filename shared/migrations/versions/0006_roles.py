"""Partition upkeep for services that own nothing, and the demo's history marker.

The services connect as a role granted only the rows they use (shared/grants.py): no DDL, no TRUNCATE.
PostgreSQL lets only a table's owner create or drop its partitions, so three SECURITY DEFINER functions,
owned by the schema owner who runs this migration, do exactly that and nothing more. Each builds the
partition's name and bounds itself from a date (nothing the caller passes reaches the SQL text) and
refuses dates outside 2000 to 2199. Dropping metric partitions removes no more than the services could
already delete through `snapshots` (its samples cascade). EXECUTE is revoked from PUBLIC here and
granted to the services' role by `trustline migrate`.

`demo_history` remembers the window of past events the demo organisation sent, so a second run sends
the same events (deduplicated) or none, and backfills the metric history once.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# {schema} is the migration's schema: the functions run with a fixed search_path and name it explicitly.
_RAW_PARTITIONS = """
CREATE FUNCTION {schema}.trustline_create_raw_events_partitions(months date[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m date;
    made integer := 0;
    name text;
BEGIN
    FOREACH m IN ARRAY months LOOP
        m := date_trunc('month', m)::date;
        IF m < date '2000-01-01' OR m >= date '2200-01-01' THEN
            RAISE EXCEPTION 'no raw_events partition for %: outside 2000 to 2199', m;
        END IF;
        name := 'raw_events_p' || to_char(m, 'YYYYMM');
        IF to_regclass(format('%I.%I', '{schema}', name)) IS NULL THEN
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.raw_events '
                           'FOR VALUES FROM (%L) TO (%L)', '{schema}', name, '{schema}',
                           m::timestamp AT TIME ZONE 'UTC',
                           (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$
"""

_METRIC_PARTITION = """
CREATE FUNCTION {schema}.trustline_create_metric_samples_partition(day date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := 'metric_samples_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF day < date '2000-01-01' OR day >= date '2200-01-01' THEN
        RAISE EXCEPTION 'no metric_samples partition for %: outside 2000 to 2199', day;
    END IF;
    IF to_regclass(format('%I.%I', '{schema}', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- The partition's foreign key locks snapshots: take that lock before metric_samples', in the order
    -- every snapshot writer takes them, so a backfill beside the live aggregator cannot deadlock.
    LOCK TABLE {schema}.snapshots IN SHARE ROW EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.metric_samples '
                   'FOR VALUES FROM (%L) TO (%L)',
                   '{schema}', name, '{schema}',
                   day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    RETURN true;
END $$
"""

_DROP_METRIC_PARTITIONS = """
CREATE FUNCTION {schema}.trustline_drop_metric_samples_partitions(before timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text;
    dropped integer := 0;
BEGIN
    FOR name IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = format('%I.metric_samples', '{schema}')::regclass
          AND c.relname ~ '^metric_samples_p[0-9]{{8}}$'
    LOOP
        IF to_date(substr(name, 17), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC' + interval '1 day'
           <= before THEN
            LOCK TABLE {schema}.snapshots IN SHARE ROW EXCLUSIVE MODE;  -- as when creating one
            EXECUTE format('DROP TABLE %I.%I', '{schema}', name);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$
"""

FUNCTIONS = (
    "trustline_create_raw_events_partitions(date[])",
    "trustline_create_metric_samples_partition(date)",
    "trustline_drop_metric_samples_partitions(timestamptz)",
)


def upgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    for body in (_RAW_PARTITIONS, _METRIC_PARTITION, _DROP_METRIC_PARTITIONS):
        op.execute(body.format(schema=schema))
    for signature in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.create_table(
        "demo_history",
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("assets", sa.Integer(), nullable=False),
        sa.Column("identities", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seed", "assets", "identities", "days", name=op.f("pk_demo_history")),
    )


def downgrade() -> None:
    op.drop_table("demo_history")
    for signature in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {signature}")
