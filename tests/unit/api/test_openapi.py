"""The OpenAPI document describes every operation: a summary, a tag, examples for every request body."""

from __future__ import annotations

from typing import Any

from trustline.api.app import create_app
from trustline.shared.settings import Settings


def _schema_has_examples(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return bool(schema.get("examples"))


def test_every_operation_is_documented() -> None:
    doc = create_app(Settings()).openapi()
    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(operations) >= 15
    for path, method, op in operations:
        assert op.get("summary") and op.get("tags"), (method, path)
        body = op.get("requestBody")
        if body is None:
            continue
        for media, content in body["content"].items():
            assert content.get("examples") or _schema_has_examples(doc, content["schema"]), (
                method,
                path,
                media,
            )


def test_reads_and_writes_declare_their_error_answers() -> None:
    doc = create_app(Settings()).openapi()
    events = doc["paths"]["/api/v1/events"]["post"]["responses"]
    assert {"202", "400", "413", "503"} <= set(events)
