"""The demo organisation's CloudEvents: a believable recent past (`history`) and an endless present (`live`).

History times are whole seconds in [start, end), with one documented exception: the vulnerability
backlog the organisation already had when Trustline was connected keeps its original detection times,
up to `backlog_lookback` before start (zero keeps every event inside the window). Ids and content are
deterministic for (seed, start, end) in history and for (seed, first clock reading) in live, so a replay
of the same window is deduplicated by (source, id) while a new run is not.
"""

from __future__ import annotations

import copy
import heapq
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, count
from operator import itemgetter

from .org import Asset, CloudResource, Control, Identity, Lifecycle, Org

DAY = 86_400
TOPICS = {
    "asset": "trustline.assets", "vulnerability": "trustline.vulnerabilities", "edr": "trustline.edr",
    "identity": "trustline.identities", "mfa": "trustline.identities", "cloud": "trustline.cloudconfig",
    "incident": "trustline.incidents",
}  # fmt: skip
SEVERITIES = ("critical", "high", "medium", "low", "info")
_UP = {"info": "info", "low": "medium", "medium": "high", "high": "critical", "critical": "critical"}
_CMDB, _OKTA, _PAGERDUTY = "servicenow/cmdb", "okta/prod", "pagerduty/prod"
_EDR_SOURCES = {"crowdstrike": "crowdstrike/falcon", "sentinelone": "sentinelone/prod"}
# Medians sit under each default SLA (7/30/90/120 d) and the tail misses it.
_MEDIAN_FIX_DAYS = {"critical": 4.0, "high": 16.0, "medium": 45.0, "low": 70.0, "info": 60.0}
_NEVER_FIXED = {"critical": 0.03, "high": 0.08, "medium": 0.2, "low": 0.35, "info": 0.6}
_FINDINGS_PER_30D = {"server": 1.0, "cloud_instance": 0.7, "endpoint": 0.6, "network": 0.4, "other": 0.3}
_PATCH_PREFIX = {"windows": "KB5", "linux": "RHSA-", "macos": "APPLE-SA-", "ios": "APPLE-SA-",
                 "android": "ASB-", "other": "cisco-sa-"}  # fmt: skip
_STAGE_GAP = {"acknowledged": 300, "contained": 3 * 3600, "restored": 6 * 3600, "resolved": 36 * 3600}
_SLOWER = {"critical": 1, "high": 2, "medium": 4, "low": 8, "info": 8}
_TITLES = ("Phishing campaign against finance", "Ransomware on file server", "Credential stuffing on login",
           "Suspicious OAuth consent", "Malware beacon from endpoint", "Public bucket reported",
           "DDoS on payments API", "Privileged account misuse", "Lost laptop", "VPN appliance exploited",
           "Data exfiltration alert", "Business email compromise")  # fmt: skip
_DUPLICATES, _LATE = 12, 24  # retried and batched deliveries per history
_LATE_TYPES = frozenset({"asset.observed", "edr.heartbeat", "cloud.evaluated", "identity.observed"})

Rec = tuple[float, str, str, str, dict[str, object]]  # (time, type, source, key, data)
Vuln = tuple[str, str, bool, str]  # (vulnerability_id, severity, kev, patch_id)
Catalog = dict[str, tuple[list[Vuln], list[float]]]  # os_family -> findings and cumulative weights
_time = itemgetter(0)


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One CloudEvent and where to publish it."""

    topic: str
    key: str
    event: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Window:
    start: int
    end: int

    def at(self, fraction: float) -> int:
        return self.start + int((self.end - self.start) * fraction)


def _stop(lc: Lifecycle, w: _Window) -> int:
    return w.end if lc.gone is None else w.at(lc.gone)


def _edr_removed(lc: Lifecycle) -> bool:
    return lc.uninstalled is not None and lc.uninstalled[1] is None


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _catalog(seed: int, year: int) -> Catalog:
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


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, rng.random(), math.exp(-lam)
    while p > limit:
        n, p = n + 1, p * rng.random()
    return n


def _rec(t: float, type_: str, source: str, key: str, **data: object) -> Rec:
    return (t, type_, source, key, data)


def _observed(t: float, a: Asset) -> Rec:
    return _rec(t, "asset.observed", _CMDB, a.asset_id, asset_id=a.asset_id, hostname=a.hostname, kind=a.kind,
                os_family=a.os_family, business_unit=a.business_unit, environment=a.environment,
                edr_required=a.edr_required)  # fmt: skip


def _heartbeat(t: float, asset_id: str, vendor: str, sensor: str, healthy: bool) -> Rec:
    return _rec(t, "edr.heartbeat", _EDR_SOURCES[vendor], asset_id, asset_id=asset_id, sensor_id=sensor,
                vendor=vendor, healthy=healthy)  # fmt: skip


def _person(t: float, type_: str, p: Identity, factor: str = "", factor_id: str = "") -> Rec:
    mfa = {"factor_type": factor, "factor_id": factor_id} if factor else {}
    return _rec(t, type_, _OKTA, p.user_id, user_id=p.user_id, privileged=p.privileged,
                business_unit=p.business_unit, **mfa)  # fmt: skip


def _finding(t: float, type_: str, a: Asset, v: Vuln, severity: str | None = None) -> Rec:
    source = "qualys/cloud" if a.kind == "cloud_instance" else "tenable/prod"
    extra: dict[str, object] = {"severity": severity, "kev": v[2]} if severity else {"patch_id": v[3]}
    return _rec(t, type_, source, a.asset_id, asset_id=a.asset_id, vulnerability_id=v[0], **extra)


def _evaluated(t: float, r: CloudResource, c: Control, status: str) -> Rec:
    return _rec(t, "cloud.evaluated", f"prowler/{r.provider}", r.resource_id, resource_id=r.resource_id,
                control_id=c.control_id, status=status, severity=c.severity, provider=r.provider,
                account=r.account, region=r.region, framework=c.framework)  # fmt: skip


def _drift(rng: random.Random, status: str) -> str:
    # Teams fix failing checks slowly, and configuration drifts back more slowly still.
    if status == "fail" and rng.random() < 0.03:
        return "pass"
    return "fail" if status == "pass" and rng.random() < 0.01 else status


def _opened(rng: random.Random, t: float, org: Org) -> Rec:
    iid = "P" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
    commander = rng.choice([p.user_id for p in org.identities if p.privileged] or ["on-call"])
    severity = rng.choices(SEVERITIES, (0.08, 0.25, 0.4, 0.22, 0.05))[0]
    return _rec(t, "incident.opened", _PAGERDUTY, iid, incident_id=iid, severity=severity,
                title=rng.choice(_TITLES), commander=commander)  # fmt: skip


def _stages(rng: random.Random) -> list[str]:
    stages = [s for s in _STAGE_GAP if s != "restored" or rng.random() > 0.2]  # some resolve without restore
    return stages[: rng.randrange(len(stages))] if rng.random() < 0.08 else stages  # some stall, still open


def _gap(rng: random.Random, stage: str, severity: str) -> int:
    return int(rng.lognormvariate(math.log(_STAGE_GAP[stage] * _SLOWER[severity]), 0.8)) + 60


def _demo_event(rec: Rec, stamp: str, ids: random.Random) -> DemoEvent:
    _, type_, source, key, data = rec
    event_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
    event: dict[str, object] = {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
                                "time": stamp, "subject": key, "data": data}  # fmt: skip
    return DemoEvent(TOPICS[type_.partition(".")[0]], key, event)


def _asset_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    for a in org.assets:
        stop, t = _stop(a.lifecycle, w), w.start + rng.randrange(3600)
        while t < stop:  # a CMDB sync every week or two keeps assets inside the 30-day inventory window
            out.append(_observed(t, a))
            t += rng.randrange(9 * DAY, 18 * DAY)
        if a.lifecycle.retired and stop < w.end:
            out.append(_rec(stop, "asset.retired", _CMDB, a.asset_id, asset_id=a.asset_id))
    return sorted(out, key=_time)


@dataclass(frozen=True, slots=True)
class _Agent:
    asset_id: str
    vendor: str
    offset: int  # seconds into each day at which the sensor checks in
    flaky: bool  # laptops are sometimes off for a whole day
    installed: tuple[tuple[int, int, str], ...]  # (from, until, sensor_id)
    sick: tuple[int, int] = (0, 0)  # heartbeats in [from, until) are unhealthy


def _agent(a: Asset, rng: random.Random, w: _Window, out: list[Rec]) -> _Agent | None:
    if a.edr_vendor is None or a.sensor_id is None:
        return None
    f, vendor = a.lifecycle, a.edr_vendor
    begin, stop = max(w.at(f.begins), w.start + 3600), _stop(f, w)
    installed = [(begin, stop, a.sensor_id)]
    if f.uninstalled and begin < (at := w.at(f.uninstalled[0])) < stop:
        out.append(_rec(at, "edr.uninstalled", _EDR_SOURCES[vendor], a.asset_id, asset_id=a.asset_id,
                        sensor_id=a.sensor_id, vendor=vendor))  # fmt: skip
        installed = [(begin, at, a.sensor_id)]
        if f.uninstalled[1] is not None:
            installed.append((at + int(f.uninstalled[1] * DAY), stop, f"{rng.getrandbits(128):032x}"))
    sick = (w.at(f.sick[0]), w.at(f.sick[0]) + int(f.sick[1] * DAY)) if f.sick else (0, 0)
    # A sensor checks in as soon as it is installed, so coverage does not wait for the daily cycle.
    out.extend(_heartbeat(lo + rng.randrange(1800), a.asset_id, vendor, sensor, True)
               for lo, hi, sensor in installed if lo + 1800 < hi)  # fmt: skip
    offset = rng.randrange(1200, DAY - 1200)
    return _Agent(a.asset_id, vendor, offset, a.kind == "endpoint", tuple(installed), sick)


def _agents(org: Org, rng: random.Random, w: _Window) -> tuple[list[_Agent], list[Rec]]:
    once: list[Rec] = []  # first check-ins and uninstalls
    agents = [ag for a in org.assets if (ag := _agent(a, rng, w, once))]
    for asset_id in org.unmanaged:  # shadow IT: sensors on machines the inventory never observes
        begin = rng.uniform(0.0, 0.8)
        until = w.end if rng.random() < 0.7 else w.at(rng.uniform(begin + 0.05, 1.0))
        installed = ((w.at(begin), until, f"{rng.getrandbits(128):032x}"),)
        agents.append(_Agent(asset_id, "crowdstrike", rng.randrange(1200, DAY - 1200), True, installed))
    return agents, sorted(once, key=_time)


def _heartbeats(agents: list[_Agent], rng: random.Random, w: _Window) -> Iterator[Rec]:
    for day in range(w.start, w.end, DAY):  # a day at a time keeps memory flat and the output sorted
        batch: list[Rec] = []
        for ag in agents:
            t = day + ag.offset + rng.randrange(-1200, 1200)
            if ag.flaky and rng.random() < 0.03:
                continue
            healthy = not ag.sick[0] <= t < ag.sick[1]
            batch.extend(_heartbeat(t, ag.asset_id, ag.vendor, sensor, healthy)
                         for lo, hi, sensor in ag.installed if lo <= t < hi)  # fmt: skip
        yield from sorted(batch, key=_time)


def _mfa_recs(p: Identity, rng: random.Random, t: int, stop: int) -> list[Rec]:
    out: list[Rec] = []
    for factor in p.factors:
        t += rng.randrange(60, 6 * 3600)
        fid = f"fct{rng.getrandbits(48):012x}"
        if t >= stop:
            break
        out.append(_person(t, "mfa.enrolled", p, factor, fid))
        if rng.random() < 0.05 and (lost := t + rng.randrange(DAY, 60 * DAY)) < stop:  # a lost phone or key
            out.append(_person(lost, "mfa.removed", p, factor, fid))
            if rng.random() < 0.6 and (again := lost + rng.randrange(600, 3 * DAY)) < stop:
                out.append(_person(again, "mfa.enrolled", p, factor, f"fct{rng.getrandbits(48):012x}"))
    return out


def _identity_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    for p in org.identities:
        f = p.lifecycle
        stop = _stop(f, w)
        t = joined = w.at(f.begins) + rng.randrange(3600)
        while t < stop:  # directory re-syncs
            out.append(_person(t, "identity.observed", p))
            t += rng.randrange(25 * DAY, 45 * DAY)
        if f.gone is not None and joined < stop:
            out.append(_rec(stop, "identity.deactivated", _OKTA, p.user_id, user_id=p.user_id))
        out.extend(_mfa_recs(p, rng, max(joined, w.at(f.mfa_from)), stop))
    return sorted(out, key=_time)


def _cycle(rng: random.Random, a: Asset, v: Vuln, det: int, stop: int, w: _Window, pace: float) -> list[Rec]:
    severity = v[1]
    out = [_finding(det, "vulnerability.detected", a, v, severity)]
    # The backlog inherited at start burns down from then, and more of it is never fixed.
    never = _NEVER_FIXED[severity] * (2.0 if det < w.start else 1.0)
    ttp = int(rng.lognormvariate(math.log(_MEDIAN_FIX_DAYS[severity] * DAY * pace), 0.9)) + 3600
    fix = None if rng.random() < never else max(det, w.start) + ttp
    open_until, first = min(fix or stop, stop), max(det, w.start) + 3600
    for _ in range(rng.choice((0, 0, 1, 2))):  # scanners re-report open findings, now and then re-scored
        if open_until > first:
            severity = _UP[severity] if rng.random() < 0.05 else severity
            out.append(_finding(rng.randrange(first, open_until), "vulnerability.detected", a, v, severity))
    if fix is not None and fix < stop:
        out.append(_finding(fix, "vulnerability.remediated", a, v))
        if rng.random() < 0.06 and (again := fix + rng.randrange(DAY, 30 * DAY)) < stop:  # a regression
            out.extend(_cycle(rng, a, v, again, stop, w, pace))
    return out


def _campaigns(catalog: Catalog, rng: random.Random, w: _Window) -> dict[str, tuple[Vuln, int]]:
    # One exploited critical per big platform lands on many hosts at once, and is patched fast.
    kev = {fam: [v for v in catalog[fam][0] if v[1] == "critical" and v[2]] for fam in ("windows", "linux")}
    return {fam: (vulns[0], w.at(rng.uniform(0.3, 0.8))) for fam, vulns in kev.items() if vulns}


def _vuln_recs(org: Org, seed: int, rng: random.Random, w: _Window, lookback: int) -> list[Rec]:
    out: list[Rec] = []
    catalog, months = _catalog(seed, time.gmtime(w.end).tm_year), (w.end - w.start) / (30 * DAY)
    campaigns = _campaigns(catalog, rng, w)
    for a in org.assets:
        vulns, cum = catalog[a.os_family]
        stop, rate, seen = _stop(a.lifecycle, w), _FINDINGS_PER_30D[a.kind], set()
        legacy = _poisson(rng, rate * 1.2) if lookback > 0 else 0
        for i in range(legacy + _poisson(rng, rate * months)):
            v = rng.choices(vulns, cum_weights=cum)[0]
            if v[0] not in seen:
                seen.add(v[0])
                det = w.start - rng.randrange(1, lookback + 1) if i < legacy else rng.randrange(w.start, stop)
                out.extend(_cycle(rng, a, v, det, stop, w, 1.3 if i < legacy else 1.0))
        if a.os_family in campaigns and rng.random() < 0.15:
            v, when = campaigns[a.os_family]
            if v[0] not in seen and (det := when + rng.randrange(2 * DAY)) < stop:
                out.extend(_cycle(rng, a, v, det, stop, w, 0.7))
    return sorted(out, key=_time)


def _checks(org: Org) -> list[tuple[CloudResource, Control, str]]:
    controls = {c.control_id: c for c in org.controls}
    return [(r, controls[cid], status) for r in org.cloud_resources for cid, status in r.checks]


def _cloud_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    accounts: dict[str, list[tuple[CloudResource, Control, str]]] = {}
    for check in _checks(org):
        accounts.setdefault(check[0].account, []).append(check)
    for checks in accounts.values():
        at = rng.randrange(DAY - 3600)
        # The GCP feed went quiet three days ago: visible as a silent source, not as a control failure.
        quiet = w.end - 3 * DAY if checks[0][0].provider == "gcp" else w.end
        for day in range(w.start, w.end, DAY):
            if rng.random() < 0.35:  # scans run every day or two
                continue
            for i, (r, c, status) in enumerate(checks):
                if (t := day + at + i) < min(quiet, _stop(r.lifecycle, w)):
                    checks[i] = (r, c, _drift(rng, status))
                    out.append(_evaluated(t, r, c, checks[i][2]))
    return sorted(out, key=_time)


def _incident_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    for _ in range(max(2, int((w.end - w.start) / DAY * rng.uniform(0.3, 0.5)))):
        opened = _opened(rng, rng.randrange(w.start, w.end), org)
        t, iid, severity = int(opened[0]), opened[3], str(opened[4]["severity"])
        out.append(opened)
        for stage in _stages(rng):
            t += _gap(rng, stage, severity)
            if t >= w.end:
                break
            escalated = {"severity": _UP[severity]} if stage == "acknowledged" and rng.random() < 0.1 else {}
            out.append(_rec(t, f"incident.{stage}", _PAGERDUTY, iid, incident_id=iid, **escalated))
    return sorted(out, key=_time)


def _disorder(events: Iterable[tuple[int, DemoEvent]], rng: random.Random, w: _Window) -> Iterator[DemoEvent]:
    """Re-deliver a few events later and hold a few others back, as retrying and batching tools do."""
    dups = sorted(rng.randrange(w.start, w.end) for _ in range(_DUPLICATES))
    lates = sorted(rng.randrange(w.start, w.end) for _ in range(_LATE))
    held: list[tuple[int, int, DemoEvent]] = []
    for n, (t, ev) in enumerate(events):
        while held and held[0][0] <= t:
            yield heapq.heappop(held)[2]
        if dups and t >= dups[0]:
            dups.pop(0)
            again = DemoEvent(ev.topic, ev.key, copy.deepcopy(ev.event))
            heapq.heappush(held, (t + rng.randrange(60, 12 * 3600), n, again))
        if lates and t >= lates[0] and ev.event["type"] in _LATE_TYPES:
            lates.pop(0)
            heapq.heappush(held, (t + rng.randrange(300, 6 * 3600), -n, ev))
            continue
        yield ev
    while held:
        yield heapq.heappop(held)[2]


def history(org: Org, *, seed: int, start: datetime, end: datetime,
            backlog_lookback: timedelta = timedelta(days=90)) -> Iterator[DemoEvent]:  # fmt: skip
    """The org's recent past, nearly in time order: [start, end) plus the inherited backlog's detections."""
    w = _Window(math.ceil(_utc(start).timestamp()), math.ceil(_utc(end).timestamp()))
    if w.end - w.start < 3600:
        raise ValueError("history needs a window of at least an hour")

    def rng(stream: str) -> random.Random:
        return random.Random(f"{seed}/{w.start}/{w.end}/{stream}")

    lookback = max(0, int(backlog_lookback.total_seconds()))
    agents, once = _agents(org, rng("agents"), w)
    streams: list[Iterable[Rec]] = [
        _asset_recs(org, rng("assets"), w), once, _heartbeats(agents, rng("edr"), w),
        _identity_recs(org, rng("identities"), w), _vuln_recs(org, seed, rng("vulns"), w, lookback),
        _cloud_recs(org, rng("cloud"), w), _incident_recs(org, rng("incidents"), w),
    ]  # fmt: skip
    ids = rng("ids")
    stamped = ((int(r[0]), _demo_event(r, _iso(int(r[0])), ids)) for r in heapq.merge(*streams, key=_time))
    return _disorder(stamped, rng("disorder"), w)


def _iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class _Live:
    """What the live stream remembers: when rare things are due, and what is open or enrolled."""

    def __init__(self, org: Org, seed: int, first: datetime) -> None:
        self.org, self.rng = org, random.Random(f"{seed}/live/{first.isoformat()}")
        self.catalog = _catalog(seed, first.year)
        # What history retired, lost, deactivated or uninstalled for good stays gone.
        self.assets = [a for a in org.assets if a.lifecycle.gone is None]
        self.agents = [(a.asset_id, a.edr_vendor, a.sensor_id) for a in self.assets
                       if a.edr_vendor and a.sensor_id and not _edr_removed(a.lifecycle)]  # fmt: skip
        self.agents += [(u, "crowdstrike", f"{self.rng.getrandbits(128):032x}") for u in org.unmanaged]
        self.people = [p for p in org.identities if p.lifecycle.gone is None]
        self.checks = [check for check in _checks(org) if check[0].lifecycle.gone is None]
        self.factors: list[tuple[Identity, str, str]] = []
        self.due: list[tuple[float, int, Callable[[float], Rec | None]]] = []
        # Rare events follow the clock, not the pace, so durations stay realistic; findings and incidents
        # come about ten times as often as in history so that a short demo visibly moves.
        self.findings_per_second = 10 * sum(_FINDINGS_PER_30D[a.kind] for a in self.assets) / (30 * DAY)
        self.steady = (self.heartbeat, self.observe, self.evaluate, self.person)
        self.weights = (60, 15 * bool(self.assets), 15 * bool(self.checks), 5 * bool(self.people))
        self.order, t = count(), first.timestamp()
        self.at(t, self.detect)
        self.at(t + self.rng.expovariate(1 / 600), self.mfa)
        self.at(t + self.rng.uniform(60, 900), self.incident)  # the first one early, for the demo

    def at(self, when: float, action: Callable[[float], Rec | None]) -> None:
        heapq.heappush(self.due, (when, next(self.order), action))

    def next(self, t: float) -> Rec:
        rec = heapq.heappop(self.due)[2](t) if self.due and self.due[0][0] <= t else None
        return rec or self.rng.choices(self.steady, self.weights)[0](t)

    def heartbeat(self, t: float) -> Rec:
        asset_id, vendor, sensor = self.rng.choice(self.agents)
        return _heartbeat(t, asset_id, vendor, sensor, self.rng.random() > 0.01)

    def observe(self, t: float) -> Rec:
        return _observed(t, self.rng.choice(self.assets))

    def evaluate(self, t: float) -> Rec:
        i = self.rng.randrange(len(self.checks))
        r, c, status = self.checks[i]
        # Evaluated far more often than in history, so drift must be rarer per evaluation.
        self.checks[i] = (r, c, _drift(self.rng, status) if self.rng.random() < 0.01 else status)
        return _evaluated(t, r, c, self.checks[i][2])

    def person(self, t: float) -> Rec:
        return _person(t, "identity.observed", self.rng.choice(self.people))

    def detect(self, t: float) -> Rec | None:
        self.at(t + self.rng.expovariate(self.findings_per_second or 1 / DAY), self.detect)
        if not self.assets:
            return None
        a = self.rng.choice(self.assets)
        v = self.rng.choices(*self.catalog[a.os_family])[0]
        # A quarter is auto-updated within two hours, so that a live session shows remediations too.
        if self.rng.random() < 0.25:
            ttp: float | None = self.rng.uniform(300, 2 * 3600)
        elif self.rng.random() < _NEVER_FIXED[v[1]]:
            ttp = None
        else:
            ttp = self.rng.lognormvariate(math.log(_MEDIAN_FIX_DAYS[v[1]] * DAY), 0.9) + 3600
        if ttp is not None:
            self.at(t + ttp, lambda now: _finding(now, "vulnerability.remediated", a, v))
        return _finding(t, "vulnerability.detected", a, v, v[1])

    def mfa(self, t: float) -> Rec | None:
        self.at(t + self.rng.expovariate(1 / 600), self.mfa)
        if self.factors and self.rng.random() < 0.3:  # a lost phone or key
            p, factor, fid = self.factors.pop(self.rng.randrange(len(self.factors)))
            return _person(t, "mfa.removed", p, factor, fid)
        # People without MFA stay without: they are the finding the MFA metrics exist for.
        who = self.rng.choice(self.people) if self.people else None
        if who is None or not who.factors:
            return None
        self.factors.append((who, self.rng.choice(who.factors), f"fct{self.rng.getrandbits(48):012x}"))
        return _person(t, "mfa.enrolled", *self.factors[-1])

    def incident(self, t: float) -> Rec:
        self.at(t + self.rng.expovariate(1 / 3600), self.incident)
        opened = _opened(self.rng, t, self.org)
        self.advance(t, opened[3], str(opened[4]["severity"]), _stages(self.rng))
        return opened

    def advance(self, t: float, iid: str, severity: str, stages: list[str]) -> None:
        if stages:
            due = t + _gap(self.rng, stages[0], severity)
            self.at(due, lambda now: self.stage(now, iid, severity, stages))

    def stage(self, t: float, iid: str, severity: str, stages: list[str]) -> Rec:
        self.advance(t, iid, severity, stages[1:])
        return _rec(t, f"incident.{stages[0]}", _PAGERDUTY, iid, incident_id=iid)


def live(org: Org, *, seed: int, clock: Callable[[], datetime]) -> Iterator[DemoEvent]:
    """An endless stream of new events, each stamped with clock() when it is generated."""
    now = _utc(clock())
    state, ids = _Live(org, seed, now), random.Random(f"{seed}/live-ids/{now.isoformat()}")
    while True:
        yield _demo_event(state.next(now.timestamp()), now.isoformat().replace("+00:00", "Z"), ids)
        now = _utc(clock())
