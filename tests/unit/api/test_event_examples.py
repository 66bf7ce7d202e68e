"""The request examples the OpenAPI document shows are events the decoder accepts, on the right topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from trustline.api.events.schemas import REQUEST_BODY
from trustline.api.events.service import BatchRefused, items_of, validate
from trustline.shared.events import Decoder

DECODER = Decoder(
    topic_prefix="trustline", max_bytes=1 << 20, clock=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC)
)
EXAMPLES = REQUEST_BODY["requestBody"]["content"]["application/json"]["examples"]


@pytest.mark.parametrize(
    ("name", "topics"),
    [("cloudevent", ["trustline.vulnerabilities"]), ("batch", ["trustline.vulnerabilities"]),
     ("ocsf", ["trustline.cloudconfig"])],
)  # fmt: skip
def test_examples_are_valid(name: str, topics: list[str]) -> None:
    records = validate(DECODER, items_of(json.dumps(EXAMPLES[name]["value"]).encode(), []), max_items=10)
    assert [r.topic for r in records] == topics


def test_a_route_without_a_type_is_refused_with_the_decoders_reason() -> None:
    with pytest.raises(BatchRefused) as refused:
        validate(DECODER, items_of(b'[{"hello": 1}, 3]', []), max_items=10)
    assert refused.value.status == 400
    assert [(e.index, e.reason) for e in refused.value.errors] == [
        (0, "invalid_envelope"),
        (1, "invalid_envelope"),
    ]
