"""Raw events partitioned by month of event time; (source, id) deduplicated through raw_event_keys.

PostgreSQL cannot enforce a unique index on a partitioned table unless it includes the partition key,
and the idempotency key (source, id) must hold whatever `time` a re-delivery carries. A narrow,
unpartitioned raw_event_keys table keeps one row per (source, id): inserting into it first decides,
under its primary key, which delivery is stored. Existing rows move into monthly partitions.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "source, id, type, topic, domain, key, time, subject, data, received_at"

# One partition per month present in the old table, named as the ingest store names them.
_PARTITIONS = """
DO $$
DECLARE m timestamptz;
BEGIN
    FOR m IN SELECT DISTINCT date_trunc('month', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
             FROM raw_events_unpartitioned LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF raw_events FOR VALUES FROM (%L) TO (%L)',
            'raw_events_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, m + interval '1 month');
    END LOOP;
END $$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE raw_events RENAME TO raw_events_unpartitioned")
    op.execute(
        "CREATE TABLE raw_event_keys (source text NOT NULL, id text NOT NULL, time timestamptz NOT NULL, "
        "CONSTRAINT pk_raw_event_keys PRIMARY KEY (source, id))"
    )
    op.execute(
        "INSERT INTO raw_event_keys (source, id, time) SELECT source, id, time FROM raw_events_unpartitioned"
    )
    op.execute(
        "CREATE TABLE raw_events (source text NOT NULL, id text NOT NULL, type text NOT NULL, "
        "topic text NOT NULL, domain text NOT NULL, key text NOT NULL, time timestamptz NOT NULL, "
        "subject text, data jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now()) "
        "PARTITION BY RANGE (time)"
    )
    op.execute("CREATE TABLE raw_events_default PARTITION OF raw_events DEFAULT")
    op.execute(_PARTITIONS)
    op.execute(f"INSERT INTO raw_events ({_COLUMNS}) SELECT {_COLUMNS} FROM raw_events_unpartitioned")
    op.execute("DROP TABLE raw_events_unpartitioned")
    # Built after the load (faster than maintaining them row by row); names as before.
    op.execute("CREATE INDEX ix_raw_events_domain_key_time ON raw_events (domain, key, time)")
    op.execute("CREATE INDEX ix_raw_events_source_time ON raw_events (source, time)")


def downgrade() -> None:
    op.execute("ALTER TABLE raw_events RENAME TO raw_events_partitioned")
    op.execute("ALTER INDEX ix_raw_events_domain_key_time RENAME TO ix_raw_events_p_domain_key_time")
    op.execute("ALTER INDEX ix_raw_events_source_time RENAME TO ix_raw_events_p_source_time")
    op.execute(
        "CREATE TABLE raw_events (source text NOT NULL, id text NOT NULL, type text NOT NULL, "
        "topic text NOT NULL, domain text NOT NULL, key text NOT NULL, time timestamptz NOT NULL, "
        "subject text, data jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now(), "
        "CONSTRAINT pk_raw_events PRIMARY KEY (source, id))"
    )
    op.execute(f"INSERT INTO raw_events ({_COLUMNS}) SELECT {_COLUMNS} FROM raw_events_partitioned")
    op.execute("DROP TABLE raw_events_partitioned")
    op.execute("DROP TABLE raw_event_keys")
    op.execute("CREATE INDEX ix_raw_events_domain_key_time ON raw_events (domain, key, time)")
    op.execute("CREATE INDEX ix_raw_events_source_time ON raw_events (source, time)")
