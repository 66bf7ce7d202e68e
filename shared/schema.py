"""Table definitions: what the migrations build (tests/integration/test_schema.py compares the migrated
database with this metadata) and where the ingest writers and folds take their column lists from."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def _ts(name: str, *, nullable: bool = False, primary_key: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable, primary_key=primary_key)


# The idempotency key of every stored event: a narrow, unpartitioned table, because a unique index on the
# partitioned raw_events would have to include `time`. `time` is the stored (first) delivery's event time.
raw_event_keys = Table(
    "raw_event_keys",
    metadata,
    Column("source", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    _ts("time"),
)

# Every accepted event, once per (source, id) (see raw_event_keys): the ground truth every state table
# folds from. Partitioned by month of event time (raw_events_pYYYYMM, created on demand by the ingest
# store, plus raw_events_default as a safety net), so old months can be dropped whole.
raw_events = Table(
    "raw_events",
    metadata,
    Column("source", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("key", Text, nullable=False),
    _ts("time"),
    Column("subject", Text),
    Column("data", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Who delivered it: `http:<key principal>` (HTTP ingest) or `kafka:<topic>`; NULL before revision 0005.
    Column("submitted_by", Text),
    Index(None, "domain", "key", "time"),
    Index(None, "source", "time"),
    postgresql_partition_by="RANGE (time)",
)

# Raw-event retention (TRUSTLINE_RAW_RETENTION_DAYS): each month whose partition was dropped, and the
# newest event per source among the dropped months (feed freshness must not forget a silent feed).
# Ingest refuses events older than the newest dropped month's end.
raw_events_dropped = Table(
    "raw_events_dropped",
    metadata,
    Column("month", Date, primary_key=True),
    _ts("dropped_at"),
    Column("events", BigInteger, nullable=False),
)

raw_events_dropped_sources = Table(
    "raw_events_dropped_sources",
    metadata,
    Column("source", Text, primary_key=True),
    _ts("newest"),
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
    Column("last_seen", DateTime(timezone=True)),  # latest observation; NULL: only ever retired
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
    Index(None, "vulnerability_id"),
)

# The known-exploited catalog (CISA KEV) as versions: an import at S adds or changes entries from S on and
# leaves every instant before S as it was.
kev_catalog_versions = Table(
    "kev_catalog_versions",
    metadata,
    Column("vulnerability_id", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("date_added", Date, nullable=False),
    Column("due_date", Date, nullable=False),
)

edr_versions = Table(
    "edr_versions",
    metadata,
    Column("asset_id", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    _ts("last_healthy_at", nullable=True),
    _ts("uninstalled_at", nullable=True),
)

identity_versions = Table(
    "identity_versions",
    metadata,
    Column("user_id", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("privileged", Boolean, nullable=False),
    Column("business_unit", Text, nullable=False),
    Column("active", Boolean, nullable=False),
)

mfa_factor_versions = Table(
    "mfa_factor_versions",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("factor_key", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("factor_type", Text, nullable=False),
    Column("enrolled", Boolean, nullable=False),
)

cloud_check_versions = Table(
    "cloud_check_versions",
    metadata,
    Column("resource_id", Text, primary_key=True),
    Column("control_id", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("status", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("account", Text),
    Column("region", Text),
    Column("framework", Text),
    _ts("evaluated_at"),
    Index(None, "control_id"),  # the checks a control-scoped risk acceptance names
)

incident_versions = Table(
    "incident_versions",
    metadata,
    Column("incident_id", Text, primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("severity", Text),
    _ts("opened_at", nullable=True),
    _ts("acknowledged_at", nullable=True),
    _ts("contained_at", nullable=True),
    _ts("restored_at", nullable=True),
    _ts("resolved_at", nullable=True),
)

# The entities each ingest batch refolded, as (domain, key), written in the batch's transaction: the
# aggregator leader recomputes only those for the live snapshot, then deletes exactly the rows it read.
entity_changes = Table(
    "entity_changes",
    metadata,
    Column("seq", BigInteger, Identity(always=False), primary_key=True),
    Column("domain", Text, nullable=False),
    Column("key", Text, nullable=False),
)

# The risk-acceptance registry: documented, business-owned, time-bound; decisions are timestamped so the
# registry can be read as of any instant.
risk_acceptances = Table(
    "risk_acceptances",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("title", Text, nullable=False),
    Column("justification", Text, nullable=False),
    Column("compensating_controls", Text, nullable=False, server_default=""),
    # scope: a vulnerability (optionally on one asset) or a control (optionally on one resource)
    Column("vulnerability_id", Text),
    Column("asset_id", Text),
    Column("control_id", Text),
    Column("resource_id", Text),
    Column("business_unit", Text),
    Column("severity", Text, nullable=False),
    Column("business_owner", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("approved_by", Text),
    Column("rejected_by", Text),
    Column("revoked_by", Text),
    Column("status", Text, nullable=False),
    _ts("created_at"),
    _ts("approved_at", nullable=True),
    _ts("rejected_at", nullable=True),
    _ts("revoked_at", nullable=True),
    _ts("expires_at"),
    CheckConstraint(
        "(vulnerability_id IS NOT NULL AND control_id IS NULL AND resource_id IS NULL)"
        " OR (control_id IS NOT NULL AND vulnerability_id IS NULL AND asset_id IS NULL)",
        name="scope",
    ),
    CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="four_eyes"),
    CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'expired', 'revoked')", name="status"),
)

# Every change to an acceptance, appended and never updated or deleted (a trigger enforces it).
risk_acceptance_audit = Table(
    "risk_acceptance_audit",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("acceptance_id", UUID(as_uuid=True), ForeignKey("risk_acceptances.id"), nullable=False),
    _ts("at"),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index(None, "acceptance_id", "seq"),
)

# API keys: only a hash of each key is kept; the key itself is shown once, when it is created.
api_keys = Table(
    "api_keys",
    metadata,
    Column("prefix", Text, primary_key=True),  # the key's public part, to find its row
    Column("secret_hash", Text, nullable=False),  # sha256 of the whole key (keys are 256-bit random)
    Column("principal", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    # The event sources an `events:write` key may speak for: exact names or `*` wildcards (`qualys/*`).
    Column("sources", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    _ts("created_at"),
    _ts("revoked_at", nullable=True),
    _ts("expires_at", nullable=True),
    _ts("last_used_at", nullable=True),
)

# Operators' decisions about single Kafka records the workers must not store: `skip` commits past the
# record, `quarantine` dead-letters it. Rows are never deleted: they are the audit trail of those decisions.
ingest_overrides = Table(
    "ingest_overrides",
    metadata,
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("action", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    _ts("requested_at"),
    CheckConstraint("action IN ('skip', 'quarantine')", name="action"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("at", DateTime(timezone=True), primary_key=True),
    _ts("computed_at"),
    Column("duration_seconds", Float, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("writer", Text, nullable=False),  # which aggregator (or backfill) wrote it
)

# The metric history stores change. Each series (family and labels) is named once; each interval over
# which it keeps one value, or one straight line (`slope` per second: ages and debt move with the clock
# alone), is one row. A series' value at a stored snapshot `at` comes from the interval containing `at`:
# `value + slope x (at - valid_from)`. An open interval (valid_to NULL) holds the newest value.
metric_series = Table(
    "metric_series",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column("name", Text, nullable=False),
    Column("labels", JSONB, nullable=False),
    UniqueConstraint("name", "labels"),
)

metric_values = Table(
    "metric_values",
    metadata,
    Column("series_id", Integer, ForeignKey("metric_series.id"), primary_key=True),
    _ts("valid_from", primary_key=True),
    _ts("valid_to", nullable=True),
    Column("value", Float, nullable=False),
    Column("slope", Float, nullable=False, server_default=text("0")),
    CheckConstraint("valid_to > valid_from", name="interval"),
    Index("ix_metric_values_interval", text("tstzrange(valid_from, valid_to)"), postgresql_using="gist"),
    Index(None, "valid_to"),
    Index(None, "valid_from"),
)

# The demo organisation's past, once per set of options: the window its history events cover (so a
# second run resends the same events or none), when they were all stored and when the metric history
# was backfilled from them.
demo_history = Table(
    "demo_history",
    metadata,
    Column("seed", Integer, primary_key=True),
    Column("assets", Integer, primary_key=True),
    Column("identities", Integer, primary_key=True),
    Column("days", Integer, primary_key=True),
    _ts("start_at"),
    _ts("end_at"),
    _ts("stored_at", nullable=True),
    _ts("backfilled_at", nullable=True),
)
