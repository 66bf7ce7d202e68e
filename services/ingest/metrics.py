"""The ingest worker's own pipeline-health metrics."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter, Gauge, Histogram
from pydantic import SecretStr

from trustline.shared import metrics_server

EVENTS = Counter("trustline_ingest_events", "Records handled, by topic and outcome", ["topic", "outcome"])
DEAD_LETTERS = Counter(
    "trustline_ingest_dead_letter", "Records sent to the dead-letter topic, by reason", ["topic", "reason"]
)
SKIPPED = Counter(
    "trustline_ingest_skipped_records", "Records skipped by an operator override (never stored)"
)
BATCH_SECONDS = Histogram(
    "trustline_ingest_batch_duration_seconds",
    "Time to store, dead-letter and commit one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LAST_COMMIT = Gauge("trustline_ingest_last_commit_timestamp_seconds", "When offsets were last committed")
LAG = Gauge(
    "trustline_ingest_consumer_lag",
    "Records behind the end of each assigned partition",
    ["topic", "partition"],
)
_served: set[int] = set()


def serve(port: int | None, host: str, *, token: SecretStr | None, max_age: float) -> None:
    """Expose this process's metrics (behind the metrics token) and its probes on its own port, once."""
    if port is not None and port not in _served:
        metrics_server.serve(port=port, host=host, token=token, max_age=max_age)
        _served.add(port)


async def observe_lag(consumer: AIOKafkaConsumer) -> None:
    """Consumer lag per assigned partition: the last known end of the partition minus our position."""
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is not None:
            LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - await consumer.position(tp)))
