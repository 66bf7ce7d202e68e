"""What POST /api/v1/events answers, and the request examples its OpenAPI shows."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Field

from trustline.shared.events import RejectReason


class ItemAccepted(BaseModel):
    """One accepted item: the topic it was published to and how many events it stands for."""

    index: int
    topic: str
    events: int = Field(description="1 for a CloudEvent; an OCSF record may stand for several events")


class Accepted(BaseModel):
    """Every item was validated and acknowledged by the broker."""

    accepted: int
    items: list[ItemAccepted]


class ItemError(BaseModel):
    """Why one item of a refused batch was refused (the reasons of the Kafka dead-letter queue)."""

    index: int
    reason: RejectReason
    detail: str


class ItemForbidden(BaseModel):
    """An item naming an event source the key may not write (its `sources` patterns)."""

    index: int
    source: str
    detail: str


_CLOUDEVENT: Final = {
    "specversion": "1.0",
    "id": "scan-2026-11-28-0001",
    "source": "tenable/prod",
    "type": "vulnerability.detected",
    "time": "2026-11-28T09:12:44Z",
    "data": {"asset_id": "host-0042", "vulnerability_id": "CVE-2026-1234", "severity": "high"},
}
_OCSF: Final = {
    "class_uid": 2004,
    "time": 1795856400000,
    "severity_id": 4,
    "status_code": "FAIL",
    "status_id": 1,
    "metadata": {"product": {"name": "Prowler", "vendor_name": "Prowler"}, "event_code": "s3_bucket_public"},
    "finding_info": {"uid": "prowler-aws-s3-public-123"},
    "cloud": {"provider": "aws", "account": {"uid": "123456789012"}, "region": "eu-west-1"},
    "resources": [{"uid": "arn:aws:s3:::billing-exports"}],
}
_ITEM: Final = {"type": "object", "description": "a structured CloudEvent 1.0 or an OCSF record"}
REQUEST_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "One event or a JSON array of events (all accepted, or none). Binary-mode "
        "CloudEvents (ce-* headers, body = data) are accepted too.",
        "content": {
            media: {
                "schema": {"oneOf": [_ITEM, {"type": "array", "items": _ITEM, "minItems": 1}]},
                "examples": {
                    "cloudevent": {"summary": "one CloudEvent", "value": _CLOUDEVENT},
                    "batch": {"summary": "a batch", "value": [_CLOUDEVENT]},
                    "ocsf": {"summary": "a Prowler OCSF detection finding", "value": _OCSF},
                },
            }
            for media in (
                "application/json",
                "application/cloudevents+json",
                "application/cloudevents-batch+json",
            )
        },
    }
}
