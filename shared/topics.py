"""Topic names of the event contract; the prefix is configurable, the suffixes are not."""

from __future__ import annotations

from typing import Final

# suffix -> the event types accepted on that topic (a type is valid only on its own topic)
TOPIC_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "assets": ("asset.observed", "asset.retired"),
    "vulnerabilities": ("vulnerability.detected", "vulnerability.remediated"),
    "edr": ("edr.heartbeat", "edr.uninstalled"),
    "identities": ("identity.observed", "identity.deactivated", "mfa.enrolled", "mfa.removed"),
    "cloudconfig": ("cloud.evaluated",),
    "incidents": (
        "incident.opened",
        "incident.acknowledged",
        "incident.contained",
        "incident.restored",
        "incident.resolved",
    ),
}
TYPE_TOPIC_SUFFIX: Final[dict[str, str]] = {t: s for s, types in TOPIC_TYPES.items() for t in types}
DLQ_SUFFIX: Final = ".dlq"


def topic_name(prefix: str, suffix: str) -> str:
    """Full topic name, e.g. ('trustline', 'assets') -> 'trustline.assets'."""
    return f"{prefix}.{suffix}" if prefix else suffix


def event_topics(prefix: str) -> list[str]:
    """The six event topics, in contract order."""
    return [topic_name(prefix, s) for s in TOPIC_TYPES]


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of an event topic."""
    return topic + DLQ_SUFFIX


def topic_suffix(prefix: str, topic: str) -> str | None:
    """The contract suffix of a full topic name, or None when it is not one of ours."""
    head = f"{prefix}." if prefix else ""
    if not topic.startswith(head):
        return None
    suffix = topic[len(head) :]
    return suffix if suffix in TOPIC_TYPES else None
