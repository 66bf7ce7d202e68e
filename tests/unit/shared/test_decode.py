"""The decoder: every contract type accepted on its own topic, every reject reason on bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustline.shared.events import Decoder, Event, Rejection
from trustline.shared.events.schemas import AssetObserved, IdentityObserved
from trustline.shared.topics import TOPIC_TYPES

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
decoder = Decoder(topic_prefix="trustline", max_bytes=4096, clock=lambda: NOW)

# The smallest valid `data` of every type in the contract (required fields only).
MINIMAL: dict[str, dict[str, Any]] = {
    "asset.observed": {"asset_id": "h1"},
    "asset.retired": {"asset_id": "h1"},
    "vulnerability.detected": {"asset_id": "h1", "vulnerability_id": "CVE-1", "severity": "high"},
    "vulnerability.remediated": {"asset_id": "h1", "vulnerability_id": "CVE-1"},
    "edr.heartbeat": {"asset_id": "h1"},
    "edr.uninstalled": {"asset_id": "h1"},
    "identity.observed": {"user_id": "u1"},
    "identity.deactivated": {"user_id": "u1"},
    "mfa.enrolled": {"user_id": "u1", "factor_type": "webauthn"},
    "mfa.removed": {"user_id": "u1", "factor_type": "sms"},
    "cloud.evaluated": {"resource_id": "r1", "control_id": "c1", "status": "fail", "severity": "low"},
    "incident.opened": {"incident_id": "i1", "severity": "critical"},
    "incident.acknowledged": {"incident_id": "i1"},
    "incident.contained": {"incident_id": "i1"},
    "incident.restored": {"incident_id": "i1"},
    "incident.resolved": {"incident_id": "i1"},
}


def decode(
    topic: str, value: bytes | None, headers: list[tuple[str, bytes]] | None = None
) -> Event | Rejection:
    """The decoder's answer for a record that stands for one event."""
    got = decoder.decode(topic, value, headers or ())
    if isinstance(got, Rejection):
        return got
    assert len(got) == 1, got
    return got[0]


def record(type_: str, data: Any, **attrs: Any) -> bytes:
    body = {
        "specversion": "1.0",
        "id": "e1",
        "source": "s/1",
        "type": type_,
        "time": "2026-11-03T09:12:44Z",
        "data": data,
        **attrs,
    }
    return json.dumps(body).encode()


def test_minimal_covers_the_contract() -> None:
    assert set(MINIMAL) == {t for types in TOPIC_TYPES.values() for t in types}


@pytest.mark.parametrize(("suffix", "type_"), [(s, t) for s, ts in TOPIC_TYPES.items() for t in ts])
def test_every_type_is_accepted_on_its_topic(suffix: str, type_: str) -> None:
    got = decode(f"trustline.{suffix}", record(type_, MINIMAL[type_]))
    assert isinstance(got, Event), got
    assert (got.type, got.source, got.id) == (type_, "s/1", "e1")
    assert got.time == datetime(2026, 11, 3, 9, 12, 44, tzinfo=UTC)


def test_defaults_of_the_contract_apply() -> None:
    server = decode("trustline.assets", record("asset.observed", {"asset_id": "h", "kind": "server"}))
    network = decode("trustline.assets", record("asset.observed", {"asset_id": "h", "kind": "network"}))
    user = decode("trustline.identities", record("identity.observed", {"user_id": "u"}))
    assert isinstance(server, Event) and isinstance(server.data, AssetObserved)
    assert isinstance(network, Event) and isinstance(network.data, AssetObserved)
    assert isinstance(user, Event) and isinstance(user.data, IdentityObserved)
    assert server.data.edr_required is True and network.data.edr_required is False
    assert server.data.business_unit == "unassigned" and user.data.privileged is False


def test_unknown_fields_are_ignored_and_offsets_normalised() -> None:
    got = decode(
        "trustline.assets",
        record(
            "asset.observed", {"asset_id": "h", "future": 1}, time="2026-11-03T11:12:44+02:00", extension="x"
        ),
    )
    assert isinstance(got, Event) and got.time == datetime(2026, 11, 3, 9, 12, 44, tzinfo=UTC)


@pytest.mark.parametrize(
    ("topic", "value", "reason"),
    [
        ("trustline.assets", b"{nope", "invalid_json"),
        ("trustline.assets", None, "invalid_json"),
        ("trustline.assets", b"[1, 2]", "invalid_envelope"),
        (
            "trustline.assets",
            record("asset.observed", {"asset_id": "h"}, specversion="0.3"),
            "invalid_envelope",
        ),
        ("trustline.assets", record("asset.observed", {"asset_id": "h"}, id=""), "invalid_envelope"),
        (
            "trustline.assets",
            record("asset.observed", {"asset_id": "h"}, time="2026-11-03T09:12:44"),
            "invalid_envelope",
        ),
        ("trustline.assets", b'{"class_uid": 2004, "metadata": {}}', "invalid_data"),  # OCSF, unmappable
        ("trustline.assets", b'{"class_uid": 9999}', "invalid_data"),
        ("trustline.assets", record("asset.exploded", {"asset_id": "h"}), "unknown_type"),
        ("trustline.edr", record("asset.observed", {"asset_id": "h"}), "type_not_allowed_on_topic"),
        ("other.assets", record("asset.observed", {"asset_id": "h"}), "type_not_allowed_on_topic"),
        ("trustline.assets", record("asset.observed", {"hostname": "h"}), "invalid_data"),
        ("trustline.assets", record("asset.observed", {"asset_id": "h", "kind": "toaster"}), "invalid_data"),
        ("trustline.assets", record("asset.observed", None), "invalid_data"),
        (
            "trustline.vulnerabilities",
            record(
                "vulnerability.detected", {"asset_id": "h", "vulnerability_id": "c", "severity": "urgent"}
            ),
            "invalid_data",
        ),
        ("trustline.assets", record("asset.observed", {"asset_id": "h\u0000"}), "invalid_data"),
        ("trustline.assets", record("asset.observed", {"asset_id": "victim\u001fzz"}), "invalid_data"),
        (
            "trustline.assets",
            record("asset.observed", {"asset_id": "h", "business_unit": "a\nb"}),
            "invalid_data",
        ),
        ("trustline.assets", record("asset.observed", {"asset_id": "h"}, id="x\u0007"), "invalid_envelope"),
        (
            "trustline.assets",
            record("asset.observed", {"asset_id": "h"}, time="1999-12-31T23:59:59Z"),
            "time_out_of_range",
        ),
        (
            "trustline.assets",
            record("asset.observed", {"asset_id": "h"}, time="2026-11-04T12:00:01Z"),
            "time_out_of_range",
        ),
        (
            "trustline.assets",
            record("asset.observed", {"asset_id": "h", "hostname": "x" * 5000}),
            "too_large",
        ),
    ],
)
def test_bad_input_gets_its_reason(topic: str, value: bytes | None, reason: str) -> None:
    got = decode(topic, value)
    assert isinstance(got, Rejection) and got.reason == reason, got
    assert got.detail


def test_time_limits_are_inclusive_of_the_edges() -> None:
    edge = (NOW + timedelta(hours=24)).isoformat()
    assert isinstance(
        decode("trustline.assets", record("asset.observed", {"asset_id": "h"}, time=edge)), Event
    )
    first = "2000-01-01T00:00:00Z"
    assert isinstance(
        decode("trustline.assets", record("asset.observed", {"asset_id": "h"}, time=first)), Event
    )


@given(st.binary(max_size=600))
def test_any_bytes_give_events_or_a_reason(value: bytes) -> None:
    assert isinstance(decoder.decode("trustline.assets", value), tuple | Rejection)


def test_binary_mode_reads_attributes_from_headers() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"b1"),
        ("ce_source", b"edr/x"),
        ("ce_type", b"edr.heartbeat"),
        ("ce_time", b"2026-11-03T09:00:00Z"),
        ("content-type", b"application/json"),
    ]
    got = decode("trustline.edr", b'{"asset_id": "h1", "healthy": false}', headers)
    assert isinstance(got, Event) and (got.source, got.id, got.type) == ("edr/x", "b1", "edr.heartbeat")
    assert got.data.healthy is False  # type: ignore[attr-defined]
    missing = decode("trustline.edr", b'{"asset_id": "h1"}', [h for h in headers if h[0] != "ce_source"])
    assert isinstance(missing, Rejection) and missing.reason == "invalid_envelope"
    nul = decode("trustline.edr", b'{"asset_id": "h1"}', [*headers[:1], ("ce_id", b"x\x00y"), *headers[2:]])
    assert isinstance(nul, Rejection) and nul.reason == "invalid_envelope"
    broken = decode("trustline.edr", b"{nope", headers)
    assert isinstance(broken, Rejection) and broken.reason == "invalid_json"


@given(
    st.dictionaries(
        st.sampled_from(["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_x"]),
        st.binary(max_size=40),
    ),
    st.binary(max_size=200),
)
def test_any_binary_mode_headers_give_events_or_a_reason(headers: dict[str, bytes], value: bytes) -> None:
    assert isinstance(decoder.decode("trustline.edr", value, list(headers.items())), tuple | Rejection)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    )
)
def test_any_json_data_gives_an_event_or_a_reason(data: Any) -> None:
    assert isinstance(decode("trustline.assets", record("asset.observed", data)), Event | Rejection)


# Hostile records that once stopped ingestion, and their kin: each ends as a reason, never an exception.
_VALID = record("vulnerability.detected", MINIMAL["vulnerability.detected"])
HOSTILE: list[tuple[str, bytes, str]] = [
    ("invalid UTF-8 in data", _VALID.replace(b'"h1"', b'"h\xff\xfe1"'), "invalid_json"),
    ("invalid UTF-8 in the id", _VALID.replace(b'"e1"', b'"e\xc3"'), "invalid_json"),
    ("a lone surrogate escape", _VALID.replace(b'"h1"', b'"h\\ud800"'), "invalid_json"),
    ("arrays nested 50,000 deep", b"[" * 50_000 + b"]" * 50_000, "invalid_json"),
    ("objects nested 5,000 deep", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "invalid_json"),
    (
        "data nested 3,000 deep",
        _VALID.replace(b'"severity": "high"', b'"x": ' + b"[" * 3000 + b"]" * 3000 + b', "severity": "high"'),
        "invalid_json",
    ),
    (
        "an OCSF record nested 5,000 deep",
        b'{"class_uid": 2004, "resources": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "invalid_json",
    ),
    ("a raw NUL byte in a string", _VALID.replace(b'"h1"', b'"h\x001"'), "invalid_json"),
    (
        "time in year 1 ahead of UTC",
        record("asset.observed", {"asset_id": "h"}, time="0001-01-01T00:00:00+01:00"),
        "time_out_of_range",
    ),
    (
        "time in year 9999 behind UTC",
        record("asset.observed", {"asset_id": "h"}, time="9999-12-31T23:59:59-14:00"),
        "time_out_of_range",
    ),
    (
        "time without an offset",
        record("asset.observed", {"asset_id": "h"}, time="2026-11-03T09:00:00"),
        "invalid_envelope",
    ),
    (
        "time as a bare date",
        record("asset.observed", {"asset_id": "h"}, time="2026-11-03"),
        "invalid_envelope",
    ),
    ("time as a huge number", record("asset.observed", {"asset_id": "h"}, time=10**30), "invalid_envelope"),
    ("a huge integer in data", _VALID.replace(b'"high"', b'"high", "kev": ' + b"9" * 5000), "invalid_data"),
]


@pytest.mark.parametrize(("what", "value", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_records_get_a_reason(what: str, value: bytes, reason: str) -> None:
    topic = "trustline.assets" if b"asset.observed" in value else "trustline.vulnerabilities"
    big = Decoder(topic_prefix="trustline", max_bytes=1 << 20, clock=lambda: NOW)
    got = big.decode(topic, value)
    assert isinstance(got, Rejection) and got.reason == reason, (what, got)
    assert got.detail
    routed = big.route(value)[1]  # import and HTTP ingest decode without a topic
    assert isinstance(routed, Rejection), (what, routed)


def test_binary_mode_header_without_a_value_is_a_reason_not_a_crash() -> None:
    headers: list[tuple[str, bytes | None]] = [("ce_specversion", b"1.0"), ("ce_id", None), ("x", None)]
    got = decoder.decode("trustline.edr", b'{"asset_id": "h1"}', headers)  # type: ignore[arg-type]
    assert isinstance(got, Rejection) and got.reason == "invalid_envelope"


def _nest(depth: int, inner: bytes) -> bytes:
    return b"[" * depth + inner + b"]" * depth


@given(
    st.sampled_from(sorted(MINIMAL)),
    st.one_of(
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
            lambda d: d.isoformat()
        ),
        st.datetimes(
            min_value=datetime(1, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)),
        ).map(lambda d: d.isoformat()),
        st.text(max_size=30),
    ),
    st.binary(max_size=8),
    st.integers(min_value=0, max_value=4000),
    st.sampled_from([b"", b"\x00", b"\xff", b"\xed\xa0\x80", b"\\u0000", b"\\ud800"]),
)
def test_any_hostile_mix_gives_events_or_a_reason(
    type_: str, time: str, junk: bytes, depth: int, poison: bytes
) -> None:
    """Extreme or offset-less times, invalid UTF-8, NUL and deep nesting, in any combination."""
    value = record(type_, MINIMAL[type_], time=time).replace(b'"e1"', b'"e' + poison + b'1"')
    nested = value[:-1] + b', "x": ' + _nest(depth, junk) + b"}"
    for candidate in (value, nested, _nest(depth, value)):
        assert isinstance(decoder.decode(TOPIC_OF[type_], candidate), tuple | Rejection)
        assert isinstance(decoder.route(candidate)[1], tuple | Rejection)


TOPIC_OF = {t: f"trustline.{suffix}" for suffix, types in TOPIC_TYPES.items() for t in types}
