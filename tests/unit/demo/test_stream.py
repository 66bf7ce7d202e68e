"""The demo scenario: deterministic, shaped exactly like the event contract, and believable."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from trustline.demo.events import DemoEvent
from trustline.demo.history import history
from trustline.demo.live import live
from trustline.demo.org import Org, build_org

END = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
START = END - timedelta(days=30)
# events.md, "Topics and types"
TOPIC_TYPES = {
    "trustline.assets": {"asset.observed", "asset.retired"},
    "trustline.vulnerabilities": {"vulnerability.detected", "vulnerability.remediated"},
    "trustline.edr": {"edr.heartbeat", "edr.uninstalled"},
    "trustline.identities": {"identity.observed", "identity.deactivated", "mfa.enrolled", "mfa.removed"},
    "trustline.cloudconfig": {"cloud.evaluated"},
    "trustline.incidents": {"incident.opened", "incident.acknowledged", "incident.contained",
                            "incident.restored", "incident.resolved"},
}  # fmt: skip
KEY_FIELD = {
    "trustline.assets": "asset_id", "trustline.vulnerabilities": "asset_id", "trustline.edr": "asset_id",
    "trustline.identities": "user_id", "trustline.cloudconfig": "resource_id",
    "trustline.incidents": "incident_id",
}  # fmt: skip
REQUIRED = {
    "vulnerability.detected": ("asset_id", "vulnerability_id", "severity"),
    "vulnerability.remediated": ("asset_id", "vulnerability_id"),
    "mfa.enrolled": ("user_id", "factor_type"),
    "mfa.removed": ("user_id", "factor_type"),
    "cloud.evaluated": ("resource_id", "control_id", "status", "severity"),
}
ENUMS = {
    "severity": {"critical", "high", "medium", "low", "info"},
    "kind": {"endpoint", "server", "cloud_instance", "network", "other"},
    "os_family": {"windows", "macos", "linux", "ios", "android", "other"},
    "environment": {"prod", "staging", "dev", "other"},
    "factor_type": {
        "webauthn",
        "fido2",
        "piv",
        "smartcard",
        "totp",
        "push",
        "sms",
        "voice",
        "email",
        "other",
    },
    "status": {"pass", "fail", "muted"},
    "provider": {"aws", "azure", "gcp", "kubernetes", "other"},
}
BOOLS = ("edr_required", "kev", "healthy", "privileged")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
STAGES = ("incident.acknowledged", "incident.contained", "incident.restored", "incident.resolved")


def _time(ev: DemoEvent) -> datetime:
    return datetime.fromisoformat(str(ev.event["time"]))


def _data(ev: DemoEvent) -> dict[str, object]:
    data = ev.event["data"]
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def org() -> Org:
    return build_org(seed=3, assets=400, identities=300, business_units=5)


@pytest.fixture(scope="module")
def events(org: Org) -> list[DemoEvent]:
    return list(history(org, seed=3, start=START, end=END))


def test_same_seed_same_org_and_events(org: Org, events: list[DemoEvent]) -> None:
    assert build_org(seed=3, assets=400, identities=300, business_units=5) == org
    assert list(history(org, seed=3, start=START, end=END)) == events


def test_other_seed_other_org_and_events(org: Org, events: list[DemoEvent]) -> None:
    assert build_org(seed=4, assets=400, identities=300, business_units=5) != org
    assert list(history(org, seed=4, start=START, end=END)) != events


def _assert_structured_cloudevents(events: list[DemoEvent]) -> None:
    for ev in events:
        assert set(ev.event) == {"specversion", "id", "source", "type", "time", "subject", "data"}
        assert ev.event["specversion"] == "1.0"
        assert re.fullmatch(r"[a-z0-9]+/[a-z0-9-]+", str(ev.event["source"]))
        assert _time(ev).utcoffset() == timedelta(0)
        assert ev.event["subject"] == ev.key
        assert json.loads(json.dumps(ev.event)) == ev.event


def _assert_on_own_topic_with_entity_key(events: list[DemoEvent]) -> None:
    for ev in events:
        assert ev.event["type"] in TOPIC_TYPES[ev.topic]
        assert _data(ev)[KEY_FIELD[ev.topic]] == ev.key


def _assert_fields_and_enums(events: list[DemoEvent]) -> None:
    for ev in events:
        data = _data(ev)
        for name in REQUIRED.get(str(ev.event["type"]), ()):
            assert isinstance(data.get(name), str) and data[name], (ev.event["type"], name)
        for name, allowed in ENUMS.items():
            assert name not in data or data[name] in allowed, (name, data)
        for name in BOOLS:
            assert name not in data or isinstance(data[name], bool)
        assert "business_unit" not in data or SLUG.match(str(data["business_unit"]))
        assert ev.event["type"] != "incident.opened" or "severity" in data


def test_history_covers_every_type(events: list[DemoEvent]) -> None:
    assert set(Counter(ev.event["type"] for ev in events)) == set().union(*TOPIC_TYPES.values())


def test_history_stays_in_window_except_the_inherited_backlog(org: Org, events: list[DemoEvent]) -> None:
    early = [ev for ev in events if _time(ev) < START]
    assert early and {ev.event["type"] for ev in early} == {"vulnerability.detected"}
    assert all(START - timedelta(days=90) <= _time(ev) < END for ev in events)
    strict = history(org, seed=3, start=START, end=END, backlog_lookback=timedelta(0))
    assert all(START <= _time(ev) < END for ev in strict)


def test_history_is_nearly_time_ordered(events: list[DemoEvent]) -> None:
    newest, behind = _time(events[0]), 0
    for ev in events:
        if _time(ev) < newest:
            behind += 1
            assert newest - _time(ev) <= timedelta(hours=12)
        newest = max(newest, _time(ev))
    assert 0 < behind < len(events) // 100


def test_ids_are_unique_except_identical_redeliveries(events: list[DemoEvent]) -> None:
    by_key: dict[tuple[object, object], list[DemoEvent]] = defaultdict(list)
    for ev in events:
        by_key[ev.event["source"], ev.event["id"]].append(ev)
    repeated = [evs for evs in by_key.values() if len(evs) > 1]
    assert 0 < len(repeated) <= 20
    assert all(evs[0] == evs[1] and len(evs) == 2 for evs in repeated)
    assert len({ev.event["id"] for ev in events}) == len(by_key)


def _cycles(events: list[DemoEvent]) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(severity, days) of closed and of open cycles at END, folded as the contract says."""
    opened: dict[tuple[object, object], tuple[datetime, str]] = {}
    closed: list[tuple[str, float]] = []
    for ev in sorted(
        _vuln_events(events), key=lambda e: (_time(e), str(e.event["source"]), str(e.event["id"]))
    ):
        data = _data(ev)
        key = (data["asset_id"], data["vulnerability_id"])
        if ev.event["type"] == "vulnerability.detected":
            opened[key] = (opened[key][0] if key in opened else _time(ev), str(data["severity"]))
        elif key in opened:
            detected, severity = opened.pop(key)
            closed.append((severity, (_time(ev) - detected) / timedelta(days=1)))
    return closed, [(sev, (END - at) / timedelta(days=1)) for at, sev in opened.values()]


def _vuln_events(events: list[DemoEvent]) -> Iterator[DemoEvent]:
    seen: set[tuple[object, object]] = set()
    for ev in events:
        if ev.topic == "trustline.vulnerabilities" and (ev.event["source"], ev.event["id"]) not in seen:
            seen.add((ev.event["source"], ev.event["id"]))
            yield ev


def _assert_remediations_follow_detections(events: list[DemoEvent]) -> None:
    detected: set[tuple[object, object]] = set()
    for ev in events:
        data = _data(ev)
        if ev.event["type"] == "vulnerability.detected":
            detected.add((data["asset_id"], data["vulnerability_id"]))
        elif ev.event["type"] == "vulnerability.remediated":
            assert (data["asset_id"], data["vulnerability_id"]) in detected


def test_vulnerabilities_make_every_sla_and_backlog_bucket_interesting(events: list[DemoEvent]) -> None:
    closed, still_open = _cycles(events)
    critical = [days for sev, days in closed if sev == "critical"]
    assert any(d <= 7 for d in critical) and any(d > 7 for d in critical)
    buckets = Counter(next(b for b, top in ((0, 30), (1, 60), (2, 90), (3, 10**6)) if int(days) <= top)
                      for _, days in still_open)  # fmt: skip
    assert set(buckets) == {0, 1, 2, 3}  # metrics.md age buckets 0-30d, 31-60d, 61-90d, 90d+
    detections = Counter((_data(ev)["asset_id"], _data(ev)["vulnerability_id"]) for ev in _vuln_events(events)
                         if ev.event["type"] == "vulnerability.detected")  # fmt: skip
    assert max(detections.values()) > 1  # re-detections and re-opened cycles
    severities = Counter(
        _data(ev).get("severity") for ev in events if ev.event["type"] == "vulnerability.detected"
    )
    assert severities["medium"] > severities["critical"] > 0
    assert any(_data(ev).get("kev") is True for ev in events)


def test_edr_has_gaps_shadow_it_and_unhealthy_sensors(events: list[DemoEvent]) -> None:
    observed = {ev.key for ev in events if ev.event["type"] == "asset.observed"}
    required = {ev.key for ev in events if ev.event["type"] == "asset.observed" and _data(ev)["edr_required"]}
    beating = {ev.key for ev in events if ev.event["type"] == "edr.heartbeat"}
    assert required - beating and beating - observed
    assert any(_data(ev)["healthy"] is False for ev in events if ev.event["type"] == "edr.heartbeat")


def _assert_incident_stages_in_order(events: list[DemoEvent]) -> dict[str, dict[str, datetime]]:
    stages: dict[str, dict[str, datetime]] = defaultdict(dict)
    for ev in events:
        if ev.topic == "trustline.incidents":
            stages[ev.key].setdefault(str(ev.event["type"]), _time(ev))
    for times in stages.values():
        seen = [times["incident.opened"]] + [times[s] for s in STAGES if s in times]
        assert seen == sorted(seen)
    return stages


def test_history_speaks_the_contract(events: list[DemoEvent]) -> None:
    _assert_structured_cloudevents(events)
    _assert_on_own_topic_with_entity_key(events)
    _assert_fields_and_enums(events)
    _assert_remediations_follow_detections(events)


def test_incident_stages_never_precede_their_opening(events: list[DemoEvent]) -> None:
    stages = _assert_incident_stages_in_order(events)
    assert any("incident.resolved" not in t for t in stages.values())
    assert any("incident.resolved" in t and "incident.restored" not in t for t in stages.values())


def test_default_org_is_shaped_like_a_company() -> None:
    org = build_org(seed=7)
    assert len(org.business_units) == 6 and all(SLUG.match(bu) for bu in org.business_units)
    assert len({a.asset_id for a in org.assets}) == 3000 and len({p.user_id for p in org.identities}) == 2000
    assert 0.05 <= sum(p.privileged for p in org.identities) / 2000 <= 0.10
    assert any(p.privileged and not p.factors for p in org.identities)
    assert any(a.edr_required and a.edr_vendor is None for a in org.assets)
    assert {r.provider for r in org.cloud_resources} == {"aws", "azure", "gcp", "kubernetes"}


def _fake_clock(start: datetime, step: timedelta) -> tuple[Callable[[], datetime], list[datetime]]:
    readings: list[datetime] = []

    def clock() -> datetime:
        readings.append(start + step * len(readings))
        return readings[-1]

    return clock, readings


def test_live_stamps_each_event_with_the_clock(org: Org) -> None:
    clock, readings = _fake_clock(END + timedelta(microseconds=250), timedelta(seconds=1.5))
    stream = list(islice(live(org, seed=3, clock=clock), 3000))
    assert [_time(ev) for ev in stream] == readings[: len(stream)]
    assert len({ev.event["id"] for ev in stream}) == len(stream)
    again, _ = _fake_clock(END + timedelta(microseconds=250), timedelta(seconds=1.5))
    assert list(islice(live(org, seed=3, clock=again), 3000)) == stream


def test_live_speaks_the_contract_and_stays_consistent(org: Org) -> None:
    clock, _ = _fake_clock(END, timedelta(minutes=2))  # a week of clock time
    stream = list(islice(live(org, seed=5, clock=clock), 5000))
    _assert_structured_cloudevents(stream)
    _assert_on_own_topic_with_entity_key(stream)
    _assert_fields_and_enums(stream)
    _assert_remediations_follow_detections(stream)
    stages = _assert_incident_stages_in_order(stream)
    assert any("incident.resolved" in times for times in stages.values())
    kinds = Counter(ev.event["type"] for ev in stream)
    assert set(kinds) >= {"edr.heartbeat", "asset.observed", "cloud.evaluated", "identity.observed",
                          "vulnerability.detected", "vulnerability.remediated", "mfa.enrolled"}  # fmt: skip


def test_live_rare_events_follow_the_clock_not_the_pace(org: Org) -> None:
    clock, _ = _fake_clock(END, timedelta(milliseconds=20))  # 5000 events in 100 s
    kinds = Counter(ev.event["type"] for ev in islice(live(org, seed=5, clock=clock), 5000))
    assert kinds["incident.opened"] <= 1 and kinds["vulnerability.detected"] <= 2
    assert kinds["edr.heartbeat"] > 2500
