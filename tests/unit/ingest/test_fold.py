"""The state folds: contract semantics, and independence from arrival order and duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from trustline.ingest.fold import CycleVersion, StoredEvent, fold_asset, fold_vulnerability
from trustline.shared.events.schemas import (
    AssetObserved,
    AssetRetired,
    VulnerabilityDetected,
    VulnerabilityRemediated,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def detected(i: str, days: float, severity: str = "high", kev: bool = False) -> StoredEvent:
    return StoredEvent(
        at(days),
        "scanner",
        i,
        VulnerabilityDetected(asset_id="a", vulnerability_id="v", severity=severity, kev=kev),
    )  # type: ignore[arg-type]


def remediated(i: str, days: float) -> StoredEvent:
    return StoredEvent(at(days), "scanner", i, VulnerabilityRemediated(asset_id="a", vulnerability_id="v"))


def spans(versions: list[CycleVersion]) -> list[tuple[int, datetime, datetime | None, str]]:
    return [(v.cycle, v.detected_at, v.remediated_at, v.severity) for v in versions]


def test_redetection_never_restarts_the_clock() -> None:
    got = fold_vulnerability("a", "v", [detected("1", 0), detected("2", 5), remediated("3", 9)])
    assert spans(got) == [(0, at(0), at(9), "high")]


def test_remediation_with_nothing_open_changes_nothing_and_detection_after_close_reopens() -> None:
    got = fold_vulnerability(
        "a",
        "v",
        [remediated("0", -1), detected("1", 0), remediated("2", 3), remediated("3", 4), detected("4", 6)],
    )
    assert spans(got) == [(0, at(0), at(3), "high"), (1, at(6), None, "high")]


def test_severity_changes_become_versions_and_the_latest_wins() -> None:
    got = fold_vulnerability(
        "a",
        "v",
        [
            detected("1", 0, "critical"),
            detected("2", 2, "critical"),
            detected("3", 4, "low"),
            remediated("4", 7),
        ],
    )
    assert [(v.severity, v.valid_from, v.valid_to) for v in got] == [
        ("critical", at(0), at(4)),
        ("low", at(4), None),
    ]
    assert {v.detected_at for v in got} == {at(0)} and {v.remediated_at for v in got} == {at(7)}


def test_same_instant_events_are_ordered_by_source_then_id() -> None:
    # Both at day 0: id "a" (detected) sorts before "b" (remediated) -> a zero-length closed cycle.
    got = fold_vulnerability("a", "v", [remediated("b", 0), detected("a", 0)])
    assert spans(got) == [(0, at(0), at(0), "high")]


EVENTS = [
    detected("1", 0, "medium"),
    detected("2", 3, "high", kev=True),
    remediated("3", 10),
    remediated("4", 11),
    detected("5", 12, "low"),
    detected("6", 12.5, "critical"),
    remediated("7", 20),
    detected("8", 30),
]


@given(st.permutations(EVENTS), st.lists(st.sampled_from(EVENTS), max_size=6))
def test_any_arrival_order_and_duplication_gives_the_same_cycles(
    order: list[StoredEvent], dups: list[StoredEvent]
) -> None:
    # Duplicates are filtered by (source, id) before the fold; the fold itself sees each event once.
    unique = {(e.source, e.id): e for e in [*order, *dups]}.values()
    assert fold_vulnerability("a", "v", unique) == fold_vulnerability("a", "v", EVENTS)


def observed(i: str, days: float, bu: str, kind: str = "server") -> StoredEvent:
    return StoredEvent(
        at(days),
        "cmdb",
        i,
        AssetObserved(
            asset_id="a",
            business_unit=bu,
            kind=kind,  # type: ignore[arg-type]
            edr_required=kind in ("endpoint", "server"),
        ),
    )


def test_asset_takes_the_latest_observation_and_retirement() -> None:
    got = fold_asset(
        "a",
        [
            observed("1", 0, "retail"),
            observed("2", 5, "retail"),
            observed("3", 8, "payments"),
            StoredEvent(at(9), "cmdb", "4", AssetRetired(asset_id="a")),
        ],
    )
    # The re-observation at day 5 changes nothing, so it starts no new version.
    assert [(v.business_unit, v.retired, v.valid_from, v.valid_to) for v in got] == [
        ("retail", False, at(0), at(8)),
        ("payments", False, at(8), at(9)),
        ("payments", True, at(9), None),
    ]


def test_asset_observed_after_retirement_is_back_in_service() -> None:
    retired = StoredEvent(at(1), "cmdb", "2", AssetRetired(asset_id="a"))
    got = fold_asset("a", [observed("1", 0, "retail"), retired, observed("3", 2, "retail")])
    assert [v.retired for v in got] == [False, True, False]


def test_retirement_of_an_unknown_asset_is_kept() -> None:
    got = fold_asset("a", [StoredEvent(at(1), "cmdb", "1", AssetRetired(asset_id="a"))])
    assert [(v.retired, v.business_unit, v.edr_required) for v in got] == [(True, "unassigned", False)]


@given(
    st.permutations(
        [
            observed("1", 0, "x"),
            observed("2", 1, "y"),
            StoredEvent(at(2), "cmdb", "3", AssetRetired(asset_id="a")),
            observed("4", 3, "z", "network"),
        ]
    )
)
def test_asset_fold_ignores_arrival_order(order: list[StoredEvent]) -> None:
    assert fold_asset("a", order) == fold_asset("a", sorted(order, key=lambda e: e.time))
