"""Raw events get a retention: whole months dropped once they are older than TRUSTLINE_RAW_RETENTION_DAYS.

State never needs a dropped month: every fold resumes from the stored versions valid just before the
earliest new event, and ingest refuses an event older than the newest dropped month (it would refold
an entity over events that are gone). What the metrics read from raw events themselves is the newest
event per source: `raw_events_dropped_sources` keeps that for the dropped months, so the freshness of a
feed that went silent before the horizon stays right at every instant after it.

`raw_events_dropped` records each dropped month (when, how many events): the audit of what went, and
the horizon ingest checks. Only the schema owner may drop a partition, so the SECURITY DEFINER
function `trustline_drop_raw_events_partitions(before)` does it, and nothing else: it drops the
monthly partitions (never the default one) that end at or before `before`, after recording the month
and its newest event per source.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "trustline_drop_raw_events_partitions(timestamptz)"
_DROP_RAW = """
CREATE FUNCTION {schema}.trustline_drop_raw_events_partitions(before timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text;
    month date;
    events bigint;
    dropped integer := 0;
BEGIN
    FOR name IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = format('%I.raw_events', '{schema}')::regclass
          AND c.relname ~ '^raw_events_p[0-9]{{6}}$'
        ORDER BY c.relname
    LOOP
        month := to_date(substr(name, 13), 'YYYYMM');
        CONTINUE WHEN (month + interval '1 month')::timestamp AT TIME ZONE 'UTC' > before;
        EXECUTE format('SELECT count(*) FROM %I.%I', '{schema}', name) INTO events;
        EXECUTE format(
            'INSERT INTO %I.raw_events_dropped_sources AS d (source, newest) '
            'SELECT source, max(time) FROM %I.%I GROUP BY source '
            'ON CONFLICT (source) DO UPDATE SET newest = greatest(d.newest, excluded.newest)',
            '{schema}', '{schema}', name);
        INSERT INTO {schema}.raw_events_dropped (month, dropped_at, events)
        VALUES (month, now(), events);
        EXECUTE format('DROP TABLE %I.%I', '{schema}', name);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "raw_events_dropped",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_raw_events_dropped")),
    )
    op.create_table(
        "raw_events_dropped_sources",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("newest", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_raw_events_dropped_sources")),
    )
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(_DROP_RAW.format(schema=schema))
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.drop_table("raw_events_dropped_sources")
    op.drop_table("raw_events_dropped")
