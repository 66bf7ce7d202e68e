"""Hostile documents: every connector returns refusals with reasons, never an exception.

Hypothesis builds arbitrary JSON values, tool-shaped documents whose fields hold the wrong types, odd and
extreme times, control characters, NUL and oversize strings, plus raw bytes (invalid UTF-8, deep nesting).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustline.shared.connectors import TOOLS, Mapped, Options, Refusal
from trustline.shared.connectors.common import encode
from trustline.shared.connectors.documents import parse
from trustline.shared.connectors.kev import map_kev
from trustline.shared.connectors.pagerduty import signature_valid
from trustline.shared.events import Decoder, Rejection, RejectReason

from . import samples

REASONS = set(get_args(RejectReason))
NOW = datetime(2026, 3, 5, tzinfo=UTC)
_DECODER = Decoder(topic_prefix="t", max_bytes=1 << 20, clock=lambda: NOW)

texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "CRITICAL", "high", "Negligible", "P1", "ACTIVE",
                     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "1999-12-31T23:59:59Z",
                     "2026-03-02T10:00:00", "2026-03-02T10:00:00.123456789123Z", "2026-02-30", "x" * 3000]),
)  # fmt: skip
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=25,
)


def mutated(doc: Any) -> st.SearchStrategy[Any]:
    """The sample with some of its values (at any depth) replaced by arbitrary JSON."""

    def walk(value: Any, draw: Any) -> Any:
        if draw(st.integers(0, 9)) == 0:
            return draw(json_values)
        if isinstance(value, dict):
            return {k: walk(v, draw) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, draw) for v in value]
        return value

    return st.composite(lambda draw: walk(doc, draw))()


SAMPLES = {
    "trivy": [samples.trivy_image(), samples.trivy_k8s()],
    "grype": [samples.grype_image(), samples.grype_directory()],
    "okta": [samples.okta_export()],
    "entra": [samples.entra_export()],
    "pagerduty": [samples.pagerduty_webhook("incident.triggered", "2026-03-02T10:00:00Z", event_id="e")],
}
documents = st.one_of(json_values, *(mutated(doc) for docs in SAMPLES.values() for doc in docs))
options = st.builds(
    Options,
    source=st.sampled_from(["trivy", "okta/acme"]),
    at=st.none() | st.datetimes(timezones=st.just(UTC)),
    scope=st.none() | st.sampled_from(["image:api", "tenant:acme"]),
    admin_names=st.frozensets(texts, max_size=2),
    now=st.just(NOW),
)


def well_behaved(mapped: Mapped) -> None:
    """Every refusal has a reason of the closed set and a detail; every event decodes or is refused."""
    for r in mapped.refused:
        assert r.reason in REASONS and r.detail and r.record
    for event in mapped.events:
        value = encode(event)
        if isinstance(value, Refusal):
            assert value.reason in REASONS and value.detail
            continue
        _, got = _DECODER.route(value)
        if isinstance(got, Rejection):
            assert got.reason in REASONS and got.detail


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(tool=st.sampled_from(sorted(TOOLS)), doc=documents, opts=options)
def test_mappers_never_raise(tool: str, doc: Any, opts: Options) -> None:
    well_behaved(TOOLS[tool](doc, opts))


@settings(max_examples=200, deadline=None)
@given(doc=st.one_of(json_values, mutated(samples.kev_catalog())))
def test_kev_never_raises(doc: Any) -> None:
    catalog = map_kev(doc)
    assert all(r.reason in REASONS and r.detail for r in catalog.refused)


raw_documents = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(0, 20000)),
    st.builds(lambda n: b'{"Results":' * n + b"1" + b"}" * n, st.integers(0, 5000)),
    st.sampled_from([b"\xff\xfe{}", b'{"a": "\\u0000"}', b"\x00", b"{}\n{", b"", b" \n "]),
    json_values.map(lambda v: json.dumps(v).encode()),  # lone surrogates escaped, NaN as `NaN`
)


@settings(max_examples=300, deadline=None)
@given(tool=st.sampled_from(sorted(TOOLS)), raw=raw_documents)
def test_bytes_to_events_never_raise(tool: str, raw: bytes) -> None:
    doc = parse(raw)
    if hasattr(doc, "reason"):
        assert doc.reason in REASONS and doc.detail
        return
    well_behaved(TOOLS[tool](doc, Options(source="x", now=NOW)))


@given(secret=st.binary(max_size=40), body=st.binary(max_size=200), header=st.none() | st.text(max_size=300))
def test_signature_check_never_raises(secret: bytes, body: bytes, header: str | None) -> None:
    assert signature_valid(secret, body, header) in (True, False)
