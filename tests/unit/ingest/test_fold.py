"""The state folds: contract semantics per domain, and independence from arrival order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from trustline.ingest.domains import ASSETS, CHECKS, EDR, FACTORS, IDENTITIES, INCIDENTS, StateTable
from trustline.ingest.folds.assets import fold_asset
from trustline.ingest.folds.cloud import fold_check
from trustline.ingest.folds.core import StoredEvent
from trustline.ingest.folds.edr import fold_edr
from trustline.ingest.folds.identities import fold_identity
from trustline.ingest.folds.incidents import fold_incident
from trustline.ingest.folds.vulnerabilities import CycleVersion, fold_vulnerability
from trustline.shared.events.schemas import DATA_TYPES, normalise

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count()


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def ev(days: float, type_: str, source: str = "tool", **data: Any) -> StoredEvent:
    """A stored event built through the real payload types (defaults included)."""
    payload = normalise(msgspec.convert(data, DATA_TYPES[type_]))
    return StoredEvent(at(days), source, f"{next(_ids):06d}", type_, payload)


def as_dicts(table: StateTable, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(table.columns, row, strict=True)) for row in rows]


# --- vulnerabilities -------------------------------------------------------------------------------


def det(days: float, severity: str = "high", kev: bool = False) -> StoredEvent:
    return ev(days, "vulnerability.detected", asset_id="a", vulnerability_id="v", severity=severity, kev=kev)


def rem(days: float) -> StoredEvent:
    return ev(days, "vulnerability.remediated", asset_id="a", vulnerability_id="v")


def spans(versions: list[CycleVersion]) -> list[tuple[int, datetime, datetime | None, str]]:
    return [(v.cycle, v.detected_at, v.remediated_at, v.severity) for v in versions]


def test_redetection_never_restarts_the_clock() -> None:
    assert spans(fold_vulnerability("a", "v", [det(0), det(5), rem(9)])) == [(0, at(0), at(9), "high")]


def test_remediation_with_nothing_open_changes_nothing_and_detection_after_close_reopens() -> None:
    got = fold_vulnerability("a", "v", [rem(-1), det(0), rem(3), rem(4), det(6)])
    assert spans(got) == [(0, at(0), at(3), "high"), (1, at(6), None, "high")]


def test_severity_changes_become_versions_and_the_latest_wins() -> None:
    got = fold_vulnerability("a", "v", [det(0, "critical"), det(2, "critical"), det(4, "low"), rem(7)])
    assert [(v.severity, v.valid_from, v.valid_to) for v in got] == [
        ("critical", at(0), at(4)),
        ("low", at(4), None),
    ]
    assert {v.detected_at for v in got} == {at(0)} and {v.remediated_at for v in got} == {at(7)}


def test_same_instant_events_are_ordered_by_source_then_id() -> None:
    first = StoredEvent(at(0), "s", "a", "vulnerability.detected", det(0).data)
    second = StoredEvent(at(0), "s", "b", "vulnerability.remediated", rem(0).data)
    assert spans(fold_vulnerability("a", "v", [second, first])) == [(0, at(0), at(0), "high")]


VULN_EVENTS = [det(0, "medium"), det(3, "high", kev=True), rem(10), rem(11), det(12, "low"), det(12.5, "critical"),
               rem(20), det(30)]  # fmt: skip


@given(st.permutations(VULN_EVENTS), st.lists(st.sampled_from(VULN_EVENTS), max_size=6))
def test_any_arrival_order_and_duplication_gives_the_same_cycles(
    order: list[StoredEvent], dups: list[StoredEvent]
) -> None:
    # Duplicates are dropped by (source, id) before the fold; the fold sees each event once.
    unique = {(e.source, e.id): e for e in [*order, *dups]}.values()
    assert fold_vulnerability("a", "v", unique) == fold_vulnerability("a", "v", VULN_EVENTS)


# --- assets ----------------------------------------------------------------------------------------


def test_asset_versions_follow_every_observation_and_retirement() -> None:
    rows = as_dicts(ASSETS, fold_asset("a", [
        ev(0, "asset.observed", asset_id="a", business_unit="retail", kind="server"),
        ev(5, "asset.observed", asset_id="a", business_unit="retail", kind="server"),
        ev(8, "asset.observed", asset_id="a", business_unit="payments", kind="network"),
        ev(9, "asset.retired", asset_id="a"),
    ]))  # fmt: skip
    assert [
        (r["business_unit"], r["retired"], r["last_seen"], r["valid_from"], r["valid_to"]) for r in rows
    ] == [
        ("retail", False, at(0), at(0), at(5)),
        ("retail", False, at(5), at(5), at(8)),  # a re-observation refreshes last_seen
        ("payments", False, at(8), at(8), at(9)),
        ("payments", True, at(8), at(9), None),
    ]
    assert [r["edr_required"] for r in rows] == [True, True, False, False]  # server yes, network no


def test_asset_retired_without_observation_was_never_seen() -> None:
    rows = as_dicts(ASSETS, fold_asset("a", [ev(1, "asset.retired", asset_id="a")]))
    assert [(r["retired"], r["business_unit"], r["last_seen"]) for r in rows] == [(True, "unassigned", None)]


# --- EDR -------------------------------------------------------------------------------------------


def test_edr_tracks_the_latest_healthy_heartbeat_and_uninstall() -> None:
    rows = as_dicts(EDR, fold_edr("a", [
        ev(0, "edr.heartbeat", asset_id="a"),
        ev(1, "edr.heartbeat", asset_id="a", healthy=False),  # proves nothing: no new version
        ev(2, "edr.heartbeat", asset_id="a"),
        ev(3, "edr.uninstalled", asset_id="a"),
    ]))  # fmt: skip
    assert [(r["valid_from"], r["last_healthy_at"], r["uninstalled_at"]) for r in rows] == [
        (at(0), at(0), None), (at(2), at(2), None), (at(3), at(2), at(3)),
    ]  # fmt: skip


# --- identities and MFA ----------------------------------------------------------------------------


def test_identity_and_factors() -> None:
    ident, factors = fold_identity("u", [
        ev(0, "identity.observed", user_id="u", privileged=True, business_unit="data"),
        ev(1, "mfa.enrolled", user_id="u", factor_type="totp"),
        ev(2, "mfa.enrolled", user_id="u", factor_type="webauthn", factor_id="key-1"),
        ev(3, "mfa.removed", user_id="u", factor_type="totp"),
        ev(4, "identity.deactivated", user_id="u"),
    ])  # fmt: skip
    assert [(r["valid_from"], r["privileged"], r["active"]) for r in as_dicts(IDENTITIES, ident)] == [
        (at(0), True, True), (at(4), True, False),
    ]  # fmt: skip
    assert [
        (r["factor_key"], r["valid_from"], r["valid_to"], r["enrolled"]) for r in as_dicts(FACTORS, factors)
    ] == [
        ("key-1", at(2), None, True),  # keyed by factor_id
        ("totp", at(1), at(3), True),  # no id: keyed by type
        ("totp", at(3), None, False),
    ]


# --- cloud checks ----------------------------------------------------------------------------------


def test_cloud_check_keeps_each_evaluation() -> None:
    rows = as_dicts(CHECKS, fold_check("r", "c", [
        ev(0, "cloud.evaluated", resource_id="r", control_id="c", status="fail", severity="high", provider="aws"),
        ev(1, "cloud.evaluated", resource_id="r", control_id="c", status="pass", severity="high", provider="aws"),
    ]))  # fmt: skip
    assert [(r["status"], r["evaluated_at"], r["valid_to"]) for r in rows] == [
        ("fail", at(0), at(1)),
        ("pass", at(1), None),
    ]


# --- incidents -------------------------------------------------------------------------------------


def test_incident_stage_times_are_earliest_and_severity_latest() -> None:
    rows = as_dicts(INCIDENTS, fold_incident("i", [
        ev(1, "incident.acknowledged", incident_id="i"),
        ev(0, "incident.opened", incident_id="i", severity="high"),
        ev(2, "incident.acknowledged", incident_id="i", severity="critical"),  # later ack: only the severity counts
        ev(3, "incident.resolved", incident_id="i"),
    ]))  # fmt: skip
    last = rows[-1]
    assert (last["opened_at"], last["acknowledged_at"], last["resolved_at"], last["restored_at"]) == (
        at(0),
        at(1),
        at(3),
        None,
    )
    assert last["severity"] == "critical"
    assert [r["severity"] for r in rows] == ["high", "high", "critical", "critical"]
