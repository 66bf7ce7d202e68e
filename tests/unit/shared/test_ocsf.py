"""OCSF input mapped to the contract's events. Finding classes are built with py-ocsf-models (the library
Prowler emits OCSF with); it has no model for classes 2002, 2005, 3001 and 5001, so those are JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.events.findings.detection_finding_type_id import DetectionFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.account import Account, TypeID
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.compliance import Compliance
from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.resource_details import ResourceDetails

from trustline.shared.events import Decoder, Event, Rejection
from trustline.shared.events.ocsf import MAPPERS

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
WHEN = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
decoder = Decoder(topic_prefix="trustline", max_bytes=1 << 20, clock=lambda: NOW)
PROWLER = Product(name="Prowler", vendor_name="Prowler", version="5.0.0")


def prowler_finding(
    status_code: str = "FAIL", status_id: StatusID = StatusID.New, when: datetime = WHEN
) -> DetectionFinding:
    """A Prowler-style Detection Finding on two S3 buckets."""
    return DetectionFinding(
        metadata=Metadata(event_code="s3_bucket_public_access", uid="prowler-aws-s3-123", product=PROWLER),
        finding_info=FindingInformation(title="S3 bucket is public", uid="prowler-aws-s3-123"),
        activity_id=ActivityID.Create,
        type_uid=DetectionFindingTypeID.Create,
        severity_id=SeverityID.High,
        status_code=status_code,
        status_id=status_id,
        time=int(when.timestamp() * 1000),
        time_dt=when,
        cloud=Cloud(
            provider="aws",
            region="eu-west-1",
            account=Account(uid="123456789012", name="prod", type_id=TypeID.AWS_Account),
        ),
        resources=[
            ResourceDetails(uid="arn:aws:s3:::a", region="eu-west-1"),
            ResourceDetails(uid="arn:aws:s3:::b"),
        ],
    )


def events(topic: str, record: Any) -> tuple[Event, ...]:
    body = (
        record.model_dump_json(exclude_none=True).encode()
        if hasattr(record, "model_dump_json")
        else json.dumps(record).encode()
    )
    got = decoder.decode(f"trustline.{topic}", body)
    assert not isinstance(got, Rejection), got
    return got


def test_prowler_detection_finding_is_one_evaluation_per_resource() -> None:
    got = events("cloudconfig", prowler_finding())
    assert [(e.type, e.data.resource_id, e.data.status, e.data.severity) for e in got] == [  # type: ignore[attr-defined]
        ("cloud.evaluated", "arn:aws:s3:::a", "fail", "high"),
        ("cloud.evaluated", "arn:aws:s3:::b", "fail", "high"),
    ]
    first = got[0].data
    assert (first.control_id, first.provider, first.account, first.region) == (  # type: ignore[attr-defined]
        "s3_bucket_public_access",
        "aws",
        "123456789012",
        "eu-west-1",
    )
    assert got[0].source == "prowler/prowler" and got[0].time == WHEN
    assert len({e.id for e in got}) == 2  # one id per resource, stable for this evaluation time


def test_prowler_time_as_it_really_writes_it() -> None:
    """Prowler writes `time_dt` in the scanning machine's local time without an offset and `time` in
    epoch seconds (prowler/lib/outputs/ocsf/ocsf.py: `time_dt=finding.timestamp` from datetime.today(),
    `time=int(timestamp.timestamp())`): the exact instant is the epoch."""
    local = WHEN.astimezone(timezone(timedelta(hours=5, minutes=30))).replace(tzinfo=None)  # say Mumbai
    record = json.loads(prowler_finding().model_dump_json(exclude_none=True))
    record.update(time_dt=local.isoformat(), time=int(WHEN.timestamp()))
    got = events("cloudconfig", record)
    assert [e.time for e in got] == [WHEN, WHEN]
    # Without the epoch, an offset-less time_dt is read as UTC; a millisecond epoch works as OCSF says.
    del record["time"]
    assert [e.time for e in events("cloudconfig", record)] == [local.replace(tzinfo=UTC)] * 2
    record.update(time=int(WHEN.timestamp() * 1000), time_dt=None)
    assert [e.time for e in events("cloudconfig", {k: v for k, v in record.items() if v is not None})] == [
        WHEN
    ] * 2


def test_prowler_pass_and_muted() -> None:
    assert events("cloudconfig", prowler_finding("PASS"))[0].data.status == "pass"  # type: ignore[attr-defined]
    muted = events("cloudconfig", prowler_finding("FAIL", StatusID.Suppressed))
    assert {e.data.status for e in muted} == {"muted"}  # type: ignore[attr-defined]


def test_compliance_finding() -> None:
    record = ComplianceFinding(
        metadata=Metadata(uid="cf-1", product=PROWLER),
        finding_info=FindingInformation(title="t", uid="cf-1"),
        activity_id=ActivityID.Create,
        type_uid=ComplianceFindingTypeID.Create,
        severity_id=SeverityID.Medium,
        time=int(WHEN.timestamp() * 1000),
        compliance=Compliance(control="CIS-1.4", status_id=ComplianceStatusID.Pass),
        resources=[ResourceDetails(uid="acct-root")],
    )
    # The library's Compliance Finding has no cloud profile; add it as the OCSF schema allows.
    body = {**json.loads(record.model_dump_json(exclude_none=True)), "cloud": {"provider": "Azure"}}
    got = events("cloudconfig", body)
    assert [(e.data.control_id, e.data.status, e.data.provider, e.data.severity) for e in got] == [  # type: ignore[attr-defined]
        ("CIS-1.4", "pass", "azure", "medium")
    ]


def base(class_uid: int, **extra: Any) -> dict[str, Any]:
    return {
        "class_uid": class_uid,
        "time": int(WHEN.timestamp() * 1000),
        "severity_id": 4,
        "metadata": {"uid": f"r-{class_uid}", "product": {"vendor_name": "Acme", "name": "Tool"}},
        **extra,
    }


def test_vulnerability_finding_detected_and_resolved() -> None:
    found = base(
        2002, device={"uid": "host-1"}, vulnerabilities=[{"cve": {"uid": "CVE-1"}}, {"cve": {"uid": "CVE-2"}}]
    )
    got = events("vulnerabilities", found)
    assert [(e.type, e.data.asset_id, e.data.vulnerability_id, e.data.severity) for e in got] == [  # type: ignore[attr-defined]
        ("vulnerability.detected", "host-1", "CVE-1", "high"),
        ("vulnerability.detected", "host-1", "CVE-2", "high"),
    ]
    fixed = events("vulnerabilities", {**found, "status_id": 4})
    assert {e.type for e in fixed} == {"vulnerability.remediated"}


def test_incident_finding_opens_and_resolves() -> None:
    start = int(datetime(2026, 11, 3, 8, 0, tzinfo=UTC).timestamp() * 1000)
    record = base(
        2005,
        status_id=4,
        start_time=start,
        end_time=int(WHEN.timestamp() * 1000),
        severity_id=5,
        finding_info={"uid": "INC-7", "title": "Ransomware on file server"},
    )
    got = events("incidents", record)
    assert [(e.type, e.time.hour) for e in got] == [("incident.opened", 8), ("incident.resolved", 9)]
    assert got[0].data.severity == "critical" and got[0].data.incident_id == "INC-7"  # type: ignore[attr-defined]


def test_account_change_enrols_mfa_and_marks_admins_privileged() -> None:
    record = base(
        3001,
        activity_id=10,
        user={"uid": "u-1", "type_id": 2},
        auth_factors=[{"factor_type_id": 10, "uid": "k1"}],
    )
    got = events("identities", record)
    assert [e.type for e in got] == ["mfa.enrolled", "identity.observed"]
    assert (got[0].data.factor_type, got[0].data.factor_id, got[1].data.privileged) == (
        "webauthn",
        "k1",
        True,
    )  # type: ignore[attr-defined]
    assert events("identities", {**record, "activity_id": 11})[0].type == "mfa.removed"


def test_device_inventory_with_an_edr_agent_also_heartbeats() -> None:
    record = base(
        5001,
        device={
            "uid": "h-9",
            "hostname": "h9",
            "type_id": 1,
            "os": {"type_id": 300},
            "org": {"ou_name": "payments"},
        },
        agent_list=[{"type_id": 1, "uid": "sensor-9", "vendor_name": "CrowdStrike"}, {"type_id": 4}],
    )
    got = events("assets", record)
    assert [(e.type, e.topic) for e in got] == [
        ("asset.observed", "trustline.assets"),
        ("edr.heartbeat", "trustline.edr"),
    ]
    assert (got[0].data.kind, got[0].data.os_family, got[0].data.business_unit) == (
        "server",
        "linux",
        "payments",
    )  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("topic", "record", "reason"),
    [
        (
            "cloudconfig",
            json.loads(prowler_finding("MANUAL").model_dump_json(exclude_none=True)),
            "invalid_data",
        ),
        (
            "vulnerabilities",
            json.loads(prowler_finding().model_dump_json(exclude_none=True)),
            "type_not_allowed_on_topic",
        ),
        ("vulnerabilities", base(2002, device={"uid": "h"}), "invalid_data"),  # no CVE
        (
            "assets",
            {**base(5001, device={"uid": "h"}), "metadata": {"uid": "x"}},
            "invalid_data",
        ),  # no product
        ("assets", base(4001), "invalid_data"),  # class not mapped
        ("assets", {**base(5001, device={"uid": "h"}), "time": "soon"}, "invalid_data"),
    ],
)
def test_unmappable_records_are_refused_with_a_reason(
    topic: str, record: dict[str, Any], reason: str
) -> None:
    got = decoder.decode(f"trustline.{topic}", json.dumps(record).encode())
    assert isinstance(got, Rejection) and got.reason == reason, got


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**13) | st.text(max_size=8),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.sampled_from(["uid", "type_id", "cve", "os", "name"]), c, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.sampled_from(sorted(MAPPERS)),
    st.dictionaries(
        st.sampled_from(
            [
                "time",
                "time_dt",
                "severity_id",
                "status_id",
                "status_code",
                "metadata",
                "resources",
                "device",
                "vulnerabilities",
                "finding_info",
                "user",
                "activity_id",
                "auth_factors",
                "agent_list",
                "cloud",
                "compliance",
                "start_time",
                "end_time",
            ]
        ),
        json_values,
        max_size=10,
    ),
)
def test_any_ocsf_shaped_record_gives_events_or_a_reason(class_uid: int, fields: dict[str, Any]) -> None:
    got = decoder.decode("trustline.assets", json.dumps({**fields, "class_uid": class_uid}).encode())
    assert isinstance(got, tuple | Rejection)
