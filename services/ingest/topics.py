"""Create the event topics and their dead-letter topics (idempotent)."""

from __future__ import annotations

from aiokafka.admin import NewTopic

from trustline.shared import kafka
from trustline.shared.settings import Settings
from trustline.shared.topics import dlq_topic, event_topics

TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(settings: Settings, *, partitions: int | None = None) -> dict[str, str]:
    """Create missing topics; returns topic -> 'created' or 'exists'."""
    n = partitions or settings.topic_partitions
    names = [t for topic in event_topics(settings.topic_prefix) for t in (topic, dlq_topic(topic))]
    admin = kafka.admin(settings, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t, num_partitions=n, replication_factor=settings.topic_replication_factor)
            for t in names
            if t not in existing
        ]
        outcome = {t: "exists" for t in names if t in existing}
        if missing:
            resp = await admin.create_topics(missing)
            for name, code, message in ((e[0], e[1], e[2]) for e in resp.topic_errors):
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"cannot create topic {name}: {message} (error {code})")
                outcome[name] = "created" if code == 0 else "exists"
        return outcome
    finally:
        await admin.close()
