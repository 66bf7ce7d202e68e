"""PagerDuty v3 webhooks (the `event` envelope, `resource_type` "incident"), verified by their signature.

`incident.triggered` opens an incident, `incident.acknowledged` and `incident.resolved` reach those stages,
`incident.priority_updated` re-rates it (an `incident.opened` with the new severity: the contract keeps the
earliest opening and the latest severity). Severity comes from the priority (`P1`..`P5`, the names of
PagerDuty's default priority scheme) or, without one, from the urgency (high, low). The incident is
`data.id`, the event id is PagerDuty's `event.id`, the time is `event.occurred_at`. Other event types
(annotated, reassigned, escalated, delegated, responder and status updates, ...) are acknowledged and
ignored; `incident.unacknowledged` and `incident.reopened` have no contract stage and are ignored too.

Signatures: PagerDuty sends `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>`, possibly several
comma-separated (while a secret rotates); one match with the shared secret is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

from .common import Mapped, Options, cloudevent, get, parse_time, records, text
from .scanners import usable_id

STAGES: Final = {
    "incident.triggered": "incident.opened",
    "incident.priority_updated": "incident.opened",
    "incident.acknowledged": "incident.acknowledged",
    "incident.resolved": "incident.resolved",
}
PRIORITIES: Final = {"p1": "critical", "p2": "high", "p3": "medium", "p4": "low", "p5": "info"}
URGENCIES: Final = {"high": "high", "low": "low"}
_MAX_SIGNATURE_HEADER: Final = 4096


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether one `v1=` signature of the header is the HMAC-SHA256 of the body under the secret."""
    if not secret or header is None or len(header) > _MAX_SIGNATURE_HEADER:
        return False
    expected = sign(secret, body).encode()
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a header is attacker-controlled.
    return any(hmac.compare_digest(expected, s.strip().encode("utf-8", "replace")) for s in header.split(","))


def sign(secret: bytes, body: bytes) -> str:
    """The header value PagerDuty would send for `body` (for tests and for replaying stored payloads)."""
    return "v1=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def severity_of(incident: Any) -> str | None:
    """The incident's severity: its priority's, else its urgency's, else unknown (None)."""
    priority = text(get(incident, "priority", "summary")) or text(get(incident, "priority", "name"))
    if priority is not None and priority.lower() in PRIORITIES:
        return PRIORITIES[priority.lower()]
    urgency = text(get(incident, "urgency"))
    return URGENCIES.get(urgency.lower()) if urgency is not None else None


def map_pagerduty(doc: Any, opts: Options) -> Mapped:
    """One webhook body, or an array (or JSON lines) of them, as incident events."""
    mapped = Mapped("incident")
    bodies = doc if isinstance(doc, list) else [doc]
    for i, body in enumerate(bodies):
        _webhook(mapped, opts, f"[{i}]" if isinstance(doc, list) else "event", body)
    return mapped


def _webhook(mapped: Mapped, opts: Options, record: str, body: Any) -> None:
    event = get(body, "event")
    kind = text(get(event, "event_type"))
    if not isinstance(event, dict) or kind is None:
        mapped.refuse(record, "invalid_envelope", "not a PagerDuty v3 webhook: no `event.event_type`")
        return
    if kind not in STAGES:
        mapped.ignored[f"{kind[:64]} (no contract stage)"] += 1
        return
    incident, event_id, at = event.get("data"), text(event.get("id")), parse_time(event.get("occurred_at"))
    incident_id = text(get(incident, "id"))
    problem = (
        "no `event.data.id` (the incident)" if not usable_id(incident_id)
        else "no `event.id`" if not usable_id(event_id)
        else "no usable `event.occurred_at` (RFC 3339)" if at is None
        else None
    )  # fmt: skip
    if problem is not None or incident_id is None or event_id is None or at is None:
        mapped.refuse(record, "invalid_data", problem or "unusable event")
        return
    data: dict[str, Any] = {"incident_id": incident_id, "title": _short(get(incident, "title"))}
    if STAGES[kind] == "incident.opened":
        data["severity"] = severity_of(incident)
        if data["severity"] is None:
            mapped.ignored["no priority or urgency: severity left as it was"] += 1
    assignee = [text(get(a, "assignee", "summary")) for a in records(get(incident, "assignments"))]
    data["commander"] = _short(assignee[0]) if assignee else None
    mapped.reported.add(incident_id)
    mapped.events.append(
        cloudevent(STAGES[kind], source=opts.source, id_=event_id, at=at, data=data, subject=None)
    )


def _short(value: Any) -> str | None:
    found = text(value)
    return found[:1024] if found is not None else None
