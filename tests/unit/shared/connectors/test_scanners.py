"""Trivy and Grype reports become one detection per (asset, vulnerability) at the scan's instant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from trustline.shared.connectors import Options
from trustline.shared.connectors.grype import map_grype
from trustline.shared.connectors.trivy import map_trivy
from trustline.shared.events import Decoder, Rejection

from .samples import grype_directory, grype_image, trivy_image, trivy_k8s, trivy_vuln

IMAGE = "registry.example.com/payments/api:1.4.2"
NOW = datetime(2026, 3, 5, tzinfo=UTC)


def found(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(e["data"]["asset_id"], e["data"]["vulnerability_id"]): e["data"]["severity"] for e in events}


def decodes(events: list[dict[str, Any]]) -> None:
    """Every event the connector yields is a valid contract event (the ingest decoder accepts it)."""
    decoder = Decoder(topic_prefix="t", max_bytes=1 << 20, clock=lambda: NOW)
    for e in events:
        _, got = decoder.route(msgspec.json.encode(e))
        assert not isinstance(got, Rejection), got


def test_trivy_image_report() -> None:
    mapped = map_trivy(trivy_image(), Options(source="trivy", now=NOW))
    # CVE-2024-0727 twice (MEDIUM, HIGH) -> one instance, the worse HIGH; UNKNOWN -> info; the npm finding
    # counts on the same image; the misconfiguration and the empty pip result map to nothing.
    assert found(mapped.events) == {
        (IMAGE, "CVE-2024-0727"): "high",
        (IMAGE, "CVE-2023-5363"): "critical",
        (IMAGE, "CVE-2023-6129"): "info",
        (IMAGE, "CVE-2024-21538"): "low",
    }
    # CreatedAt has nanoseconds: cut to microseconds, in UTC.
    assert mapped.at == datetime(2026, 3, 2, 10, 15, 30, 123456, tzinfo=UTC)
    assert {e["time"] for e in mapped.events} == {"2026-03-02T10:15:30.123456+00:00"}
    assert {e["type"] for e in mapped.events} == {"vulnerability.detected"}
    assert "subject" not in mapped.events[0] and mapped.refused == [] and mapped.complete
    decodes(mapped.events)


def test_the_same_report_gives_the_same_ids_and_another_scan_new_ones() -> None:
    first = map_trivy(trivy_image(), Options(source="trivy", now=NOW))
    again = map_trivy(trivy_image(), Options(source="trivy", now=NOW))
    later = map_trivy(trivy_image(created_at="2026-03-09T10:00:00Z"), Options(source="trivy", now=NOW))
    assert [e["id"] for e in first.events] == [e["id"] for e in again.events]
    assert not {e["id"] for e in first.events} & {e["id"] for e in later.events}
    assert len({e["id"] for e in first.events}) == 4


def test_full_scan_scope_is_the_subject_and_at_overrides_created_at() -> None:
    at = datetime(2026, 3, 4, 12, tzinfo=UTC)
    mapped = map_trivy(trivy_image(), Options(source="trivy/ci", at=at, scope="image:api", now=NOW))
    assert {e["subject"] for e in mapped.events} == {"image:api"}
    assert {e["source"] for e in mapped.events} == {"trivy/ci"}
    assert mapped.at == at and {e["time"] for e in mapped.events} == {at.isoformat()}


def test_trivy_without_created_at_uses_now() -> None:
    mapped = map_trivy(trivy_image(created_at=None), Options(source="trivy", now=NOW))
    assert mapped.at == NOW


def test_trivy_k8s_report_names_each_resource() -> None:
    mapped = map_trivy(trivy_k8s(), Options(source="trivy", now=NOW))
    assert found(mapped.events) == {("prod-eu/payments/Deployment/api", "CVE-2024-0727"): "high"}


def test_trivy_refusals_have_reasons_and_keep_the_finding_reported() -> None:
    report = trivy_image(vulns=[trivy_vuln("CVE-2024-0727", "SEVERE"), trivy_vuln("", "HIGH")])
    mapped = map_trivy(report, Options(source="trivy", now=NOW))
    assert [(r.record, r.reason) for r in mapped.refused] == [
        ("Results[0].Vulnerabilities[0]", "invalid_data"),
        ("Results[0].Vulnerabilities[1]", "invalid_data"),
    ]
    assert "SEVERE" in mapped.refused[0].detail and "vulnerability id" in mapped.refused[1].detail
    # The bad severity still names its finding (a full scan must not close it); the id-less one does not,
    # so the document cannot close anything.
    assert f"{IMAGE}\x1fCVE-2024-0727" in mapped.reported and not mapped.complete


def test_not_a_trivy_report() -> None:
    for doc in ([], {"SchemaVersion": 2}, {"Results": "x"}, "text", None):
        mapped = map_trivy(doc, Options(source="trivy", now=NOW))
        assert [r.reason for r in mapped.refused] == ["invalid_envelope"] and not mapped.complete
        assert mapped.events == []


def test_grype_image_report() -> None:
    mapped = map_grype(grype_image(), Options(source="grype", now=NOW))
    # The GHSA advisory is keyed by its CVE; CVE-2023-5363 twice -> critical; Negligible -> info.
    assert found(mapped.events) == {
        (IMAGE, "CVE-2023-32681"): "medium",
        (IMAGE, "CVE-2023-5363"): "critical",
        (IMAGE, "CVE-2019-1010022"): "info",
    }
    # 10:15:31.987654321+01:00 is 09:15:31.987654 UTC.
    assert mapped.at == datetime(2026, 3, 2, 9, 15, 31, 987654, tzinfo=UTC)
    decodes(mapped.events)


def test_grype_directory_target() -> None:
    mapped = map_grype(grype_directory(), Options(source="grype", now=NOW))
    assert {e["data"]["asset_id"] for e in mapped.events} == {"/srv/app"}


def test_not_a_grype_report() -> None:
    mapped = map_grype({"results": []}, Options(source="grype", now=NOW))
    assert [r.reason for r in mapped.refused] == ["invalid_envelope"]


def test_asset_option_puts_every_finding_on_one_asset() -> None:
    # A new tag of the same repository: with --asset the findings keep their key across tags.
    mapped = map_trivy(trivy_image("registry.example.com/payments/api:1.4.3"),
                       Options(source="trivy", asset="registry.example.com/payments/api", now=NOW))  # fmt: skip
    assert {e["data"]["asset_id"] for e in mapped.events} == {"registry.example.com/payments/api"}
    assert "registry.example.com/payments/api\x1fCVE-2023-5363" in mapped.reported
