"""The business-unit cap folds the smallest units into `other`, summing counts and keeping maxima."""

from __future__ import annotations

from trustline.aggregator.cardinality import cap_business_units
from trustline.aggregator.samples import Sample


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
    got = {(x.name, tuple(sorted(x.labels.items()))): x.value for x in cap_business_units(samples, 3)}
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
    assert cap_business_units(samples, 2) == samples


def test_a_unit_named_other_is_folded_not_duplicated() -> None:
    samples = [
        s("trustline_identities", "other", 100, population="standard"),
        s("trustline_identities", "a", 50, population="standard"),
        s("trustline_identities", "b", 1, population="standard"),
        s("trustline_identities", "c", 1, population="standard"),
    ]
    got = [(x.labels["business_unit"], x.value) for x in cap_business_units(samples, 3)]
    # Limit 3 keeps the two largest real units (a, b by name among equals) and folds `other` with c.
    assert sorted(got) == [("a", 50), ("b", 1), ("other", 101)]
