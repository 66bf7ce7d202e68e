"""The label caps: the smallest business units and the least recently active sources fold into `other`
(counts summed, ages and timestamps maximised), and each cap says how many values it folded."""

from __future__ import annotations

from trustline.shared.metrics.cardinality import Capped, cap_business_units, cap_sources
from trustline.shared.metrics.samples import Sample

SOURCE = "trustline_source_last_event_timestamp_seconds"


def s(name: str, bu: str, value: float, **labels: str) -> Sample:
    return Sample(name, {"business_unit": bu, **labels}, value)


def test_units_beyond_the_cap_fold_into_other() -> None:
    samples = [
        s("trustline_edr_assets_expected", "big", 100, os_family="linux"),
        s("trustline_edr_assets_expected", "mid", 50, os_family="linux"),
        s("trustline_edr_assets_expected", "small", 5, os_family="linux"),
        s("trustline_edr_assets_expected", "tiny", 1, os_family="linux"),
        s("trustline_edr_assets_covered", "small", 4, os_family="linux"),
        s("trustline_edr_assets_covered", "tiny", 1, os_family="linux"),
        s("trustline_vulnerability_oldest_open_age_seconds", "small", 10, severity="low"),
        s("trustline_vulnerability_oldest_open_age_seconds", "tiny", 99, severity="low"),
        Sample("trustline_snapshot_timestamp_seconds", {}, 1.0),
    ]
    capped = cap_business_units(samples, 3)
    assert capped.folded == 2  # small and tiny
    got = {(x.name, tuple(sorted(x.labels.items()))): x.value for x in capped.samples}
    # Limit 3: the two largest stay, `small` and `tiny` become `other`.
    assert got[("trustline_edr_assets_expected", (("business_unit", "other"), ("os_family", "linux")))] == 6
    assert got[("trustline_edr_assets_covered", (("business_unit", "other"), ("os_family", "linux")))] == 5
    assert (
        got[
            (
                "trustline_vulnerability_oldest_open_age_seconds",
                (("business_unit", "other"), ("severity", "low")),
            )
        ]
        == 99
    )
    assert got[("trustline_edr_assets_expected", (("business_unit", "big"), ("os_family", "linux")))] == 100
    assert {bu for (_, labels) in got for k, bu in labels if k == "business_unit"} == {"big", "mid", "other"}
    assert got[("trustline_snapshot_timestamp_seconds", ())] == 1.0


def test_under_the_cap_nothing_changes() -> None:
    samples = [
        s("trustline_identities", "a", 1, population="standard"),
        s("trustline_identities", "b", 2, population="standard"),
    ]
    assert cap_business_units(samples, 2).samples == samples
    assert cap_business_units(samples, 2).folded == 0


def test_a_unit_named_other_is_folded_not_duplicated() -> None:
    samples = [
        s("trustline_identities", "other", 100, population="standard"),
        s("trustline_identities", "a", 50, population="standard"),
        s("trustline_identities", "b", 1, population="standard"),
        s("trustline_identities", "c", 1, population="standard"),
    ]
    capped = cap_business_units(samples, 3)
    got = [(x.labels["business_unit"], x.value) for x in capped.samples]
    # Limit 3 keeps the two largest real units (a, b by name among equals) and folds `other` with c.
    assert sorted(got) == [("a", 50), ("b", 1), ("other", 101)]
    assert capped.folded == 1  # c lost its series; the real `other` never had one of its own


def src(source: str, newest: float) -> Sample:
    return Sample(SOURCE, {"source": source}, newest)


def test_sources_beyond_the_cap_fold_into_other_with_the_newest_timestamp() -> None:
    samples = [src("a", 500), src("b", 100), src("c", 400), src("d", 200), src("e", 300), src("f", 400),
               Sample("trustline_snapshot_timestamp_seconds", {}, 600.0)]  # fmt: skip
    capped = cap_sources(samples, 4)
    got = {x.labels.get("source"): x.value for x in capped.samples}
    # Limit 4: the three newest keep their series: a (500), then c and f (400, tied, by name). b (100),
    # d (200) and e (300) fold into `other`, which keeps the newest of them: 300.
    assert got == {"a": 500, "c": 400, "f": 400, "other": 300, None: 600}
    assert capped.folded == 3


def test_sources_at_the_cap_are_untouched_and_a_source_named_other_joins_the_fold() -> None:
    at_cap = [src("a", 1), src("b", 2), src("c", 3)]
    assert cap_sources(at_cap, 3) == Capped(at_cap, 0)
    # A real `other` (newest of all) never takes a slot: limit 3 keeps b and c; a and `other` fold (max 9).
    capped = cap_sources([*at_cap, src("other", 9)], 3)
    assert sorted((x.labels["source"], x.value) for x in capped.samples) == [("b", 2), ("c", 3), ("other", 9)]
    assert capped.folded == 1
