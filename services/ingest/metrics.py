"""The ingest worker's own pipeline-health metrics."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("trustline_ingest_events", "Records handled, by topic and outcome", ["topic", "outcome"])
DEAD_LETTERS = Counter(
    "trustline_ingest_dead_letter", "Records sent to the dead-letter topic, by reason", ["topic", "reason"]
)
BATCH_SECONDS = Histogram(
    "trustline_ingest_batch_duration_seconds",
    "Time to store, dead-letter and commit one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LAST_COMMIT = Gauge("trustline_ingest_last_commit_timestamp_seconds", "When offsets were last committed")
