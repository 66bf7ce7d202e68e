"""What the demo's two streams share: sources, rates, the vulnerability catalog, the record builders and the
CloudEvent envelope (`DemoEvent`).

A record (`Rec`) is (time, type, source, key, data); `to_demo_event` wraps one in a structured CloudEvent and
names its topic. `history` and `live` build their records with the same underscore helpers, which are
internal to the demo package, so both streams speak the event contract in the same way.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

from trustline.shared.severity import SEVERITIES

from .org import Asset, CloudResource, Control, Identity, Org

DAY = 86_400
TOPICS = {
    "asset": "trustline.assets", "vulnerability": "trustline.vulnerabilities", "edr": "trustline.edr",
    "identity": "trustline.identities", "mfa": "trustline.identities", "cloud": "trustline.cloudconfig",
    "incident": "trustline.incidents",
}  # fmt: skip
CMDB_SOURCE, OKTA_SOURCE, PAGERDUTY_SOURCE = "servicenow/cmdb", "okta/prod", "pagerduty/prod"
EDR_SOURCES = {"crowdstrike": "crowdstrike/falcon", "sentinelone": "sentinelone/prod"}
# Medians sit under each default SLA (7/30/90/120 d) and the tail misses it.
MEDIAN_FIX_DAYS = {"critical": 4.0, "high": 16.0, "medium": 45.0, "low": 70.0, "info": 60.0}
NEVER_FIXED = {"critical": 0.03, "high": 0.08, "medium": 0.2, "low": 0.35, "info": 0.6}
FINDINGS_PER_30D = {"server": 1.0, "cloud_instance": 0.7, "endpoint": 0.6, "network": 0.4, "other": 0.3}
_PATCH_PREFIX = {"windows": "KB5", "linux": "RHSA-", "macos": "APPLE-SA-", "ios": "APPLE-SA-",
                 "android": "ASB-", "other": "cisco-sa-"}  # fmt: skip
_STAGE_GAP = {"acknowledged": 300, "contained": 3 * 3600, "restored": 6 * 3600, "resolved": 36 * 3600}
_SLOWER = {"critical": 1, "high": 2, "medium": 4, "low": 8, "info": 8}
_TITLES = ("Phishing campaign against finance", "Ransomware on file server", "Credential stuffing on login",
           "Suspicious OAuth consent", "Malware beacon from endpoint", "Public bucket reported",
           "DDoS on payments API", "Privileged account misuse", "Lost laptop", "VPN appliance exploited",
           "Data exfiltration alert", "Business email compromise")  # fmt: skip

Rec = tuple[float, str, str, str, dict[str, object]]  # (time, type, source, key, data)
Vuln = tuple[str, str, bool, str]  # (vulnerability_id, severity, kev, patch_id)
Catalog = dict[str, tuple[list[Vuln], list[float]]]  # os_family -> findings and cumulative weights


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One CloudEvent and where to publish it."""

    topic: str
    key: str
    event: dict[str, object]


def as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def vulnerability_catalog(seed: int, year: int) -> Catalog:
    rng, taken, out = random.Random(f"{seed}/catalog"), set(), {}
    for family, prefix in _PATCH_PREFIX.items():
        vulns: list[Vuln] = []
        while len(vulns) < 50:
            vid = f"CVE-{year - rng.randrange(4)}-{rng.randrange(1000, 50000)}"
            vid = vid if rng.random() < 0.9 else f"TNB-{rng.randrange(100000, 300000)}"  # scanner-only id
            severity = rng.choices(SEVERITIES, (0.05, 0.2, 0.45, 0.25, 0.05))[0]
            kev = rng.random() < {"critical": 0.4, "high": 0.1}.get(severity, 0.0)
            if vid not in taken:
                taken.add(vid)
                vulns.append((vid, severity, kev, f"{prefix}{rng.randrange(10000, 999999)}"))
        # A few findings are everywhere and most are rare, as in real scan results.
        out[family] = (vulns, list(accumulate(1 / (i + 1) ** 0.8 for i in range(len(vulns)))))
    return out


def demo_record(t: float, type_: str, source: str, key: str, **data: object) -> Rec:
    return (t, type_, source, key, data)


def asset_observed(t: float, a: Asset) -> Rec:
    return demo_record(
        t,
        "asset.observed",
        CMDB_SOURCE,
        a.asset_id,
        asset_id=a.asset_id,
        hostname=a.hostname,
        kind=a.kind,
        os_family=a.os_family,
        business_unit=a.business_unit,
        environment=a.environment,
        edr_required=a.edr_required,
    )


def edr_heartbeat(t: float, asset_id: str, vendor: str, sensor: str, healthy: bool) -> Rec:
    return demo_record(t, "edr.heartbeat", EDR_SOURCES[vendor], asset_id, asset_id=asset_id, sensor_id=sensor,
                vendor=vendor, healthy=healthy)  # fmt: skip


def identity_event(t: float, type_: str, p: Identity, factor: str = "", factor_id: str = "") -> Rec:
    mfa = {"factor_type": factor, "factor_id": factor_id} if factor else {}
    return demo_record(t, type_, OKTA_SOURCE, p.user_id, user_id=p.user_id, privileged=p.privileged,
                business_unit=p.business_unit, **mfa)  # fmt: skip


def finding_event(t: float, type_: str, a: Asset, v: Vuln, severity: str | None = None) -> Rec:
    source = "qualys/cloud" if a.kind == "cloud_instance" else "tenable/prod"
    extra: dict[str, object] = {"severity": severity, "kev": v[2]} if severity else {"patch_id": v[3]}
    return demo_record(t, type_, source, a.asset_id, asset_id=a.asset_id, vulnerability_id=v[0], **extra)


def check_evaluated(t: float, r: CloudResource, c: Control, status: str) -> Rec:
    return demo_record(
        t,
        "cloud.evaluated",
        f"prowler/{r.provider}",
        r.resource_id,
        resource_id=r.resource_id,
        control_id=c.control_id,
        status=status,
        severity=c.severity,
        provider=r.provider,
        account=r.account,
        region=r.region,
        framework=c.framework,
    )


def drifted_status(rng: random.Random, status: str) -> str:
    # Teams fix failing checks slowly, and configuration drifts back more slowly still.
    if status == "fail" and rng.random() < 0.03:
        return "pass"
    return "fail" if status == "pass" and rng.random() < 0.01 else status


def incident_opened(rng: random.Random, t: float, org: Org) -> Rec:
    iid = "P" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
    commander = rng.choice([p.user_id for p in org.identities if p.privileged] or ["on-call"])
    severity = rng.choices(SEVERITIES, (0.08, 0.25, 0.4, 0.22, 0.05))[0]
    return demo_record(t, "incident.opened", PAGERDUTY_SOURCE, iid, incident_id=iid, severity=severity,
                title=rng.choice(_TITLES), commander=commander)  # fmt: skip


def incident_stages(rng: random.Random) -> list[str]:
    stages = [s for s in _STAGE_GAP if s != "restored" or rng.random() > 0.2]  # some resolve without restore
    return stages[: rng.randrange(len(stages))] if rng.random() < 0.08 else stages  # some stall, still open


def stage_gap(rng: random.Random, stage: str, severity: str) -> int:
    return int(rng.lognormvariate(math.log(_STAGE_GAP[stage] * _SLOWER[severity]), 0.8)) + 60


def to_demo_event(rec: Rec, stamp: str, ids: random.Random) -> DemoEvent:
    _, type_, source, key, data = rec
    event_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
    event: dict[str, object] = {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
                                "time": stamp, "subject": key, "data": data}  # fmt: skip
    return DemoEvent(TOPICS[type_.partition(".")[0]], key, event)


def cloud_checks(org: Org) -> list[tuple[CloudResource, Control, str]]:
    controls = {c.control_id: c for c in org.controls}
    return [(r, controls[cid], status) for r in org.cloud_resources for cid, status in r.checks]
