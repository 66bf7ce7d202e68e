"""The demo organisation's believable recent past: `history`, a finite and nearly time-ordered stream.

Times are whole seconds in [start, end), with one documented exception: the vulnerability backlog the
organisation already had when Trustline was connected keeps its original detection times, up to
`backlog_lookback` before start (zero keeps every event inside the window). Ids and content are
deterministic for (seed, start, end), so a replay of the same window is deduplicated by (source, id).
"""

from __future__ import annotations

import copy
import heapq
import math
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from .events import (
    CMDB_SOURCE,
    DAY,
    EDR_SOURCES,
    FINDINGS_PER_30D,
    MEDIAN_FIX_DAYS,
    NEVER_FIXED,
    OKTA_SOURCE,
    PAGERDUTY_SOURCE,
    Catalog,
    DemoEvent,
    Rec,
    Vuln,
    as_utc,
    asset_observed,
    check_evaluated,
    cloud_checks,
    demo_record,
    drifted_status,
    edr_heartbeat,
    finding_event,
    identity_event,
    incident_opened,
    incident_stages,
    stage_gap,
    to_demo_event,
    vulnerability_catalog,
)
from .org import Asset, CloudResource, Control, Identity, Lifecycle, Org

_UP = {"info": "info", "low": "medium", "medium": "high", "high": "critical", "critical": "critical"}
_DUPLICATES, _LATE = 12, 24  # retried and batched deliveries per history
_LATE_TYPES = frozenset({"asset.observed", "edr.heartbeat", "cloud.evaluated", "identity.observed"})
_time = itemgetter(0)


@dataclass(frozen=True, slots=True)
class _Window:
    start: int
    end: int

    def at(self, fraction: float) -> int:
        return self.start + int((self.end - self.start) * fraction)


def _stop(lc: Lifecycle, w: _Window) -> int:
    return w.end if lc.gone is None else w.at(lc.gone)


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, rng.random(), math.exp(-lam)
    while p > limit:
        n, p = n + 1, p * rng.random()
    return n


def _asset_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    for a in org.assets:
        stop, t = _stop(a.lifecycle, w), w.start + rng.randrange(3600)
        while t < stop:  # a CMDB sync every week or two keeps assets inside the 30-day inventory window
            out.append(asset_observed(t, a))
            t += rng.randrange(9 * DAY, 18 * DAY)
        if a.lifecycle.retired and stop < w.end:
            out.append(demo_record(stop, "asset.retired", CMDB_SOURCE, a.asset_id, asset_id=a.asset_id))
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
        out.append(demo_record(at, "edr.uninstalled", EDR_SOURCES[vendor], a.asset_id, asset_id=a.asset_id,
                        sensor_id=a.sensor_id, vendor=vendor))  # fmt: skip
        installed = [(begin, at, a.sensor_id)]
        if f.uninstalled[1] is not None:
            installed.append((at + int(f.uninstalled[1] * DAY), stop, f"{rng.getrandbits(128):032x}"))
    sick = (w.at(f.sick[0]), w.at(f.sick[0]) + int(f.sick[1] * DAY)) if f.sick else (0, 0)
    # A sensor checks in as soon as it is installed, so coverage does not wait for the daily cycle.
    out.extend(edr_heartbeat(lo + rng.randrange(1800), a.asset_id, vendor, sensor, True)
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
            batch.extend(edr_heartbeat(t, ag.asset_id, ag.vendor, sensor, healthy)
                         for lo, hi, sensor in ag.installed if lo <= t < hi)  # fmt: skip
        yield from sorted(batch, key=_time)


def _mfa_recs(p: Identity, rng: random.Random, t: int, stop: int) -> list[Rec]:
    out: list[Rec] = []
    for factor in p.factors:
        t += rng.randrange(60, 6 * 3600)
        fid = f"fct{rng.getrandbits(48):012x}"
        if t >= stop:
            break
        out.append(identity_event(t, "mfa.enrolled", p, factor, fid))
        if rng.random() < 0.05 and (lost := t + rng.randrange(DAY, 60 * DAY)) < stop:  # a lost phone or key
            out.append(identity_event(lost, "mfa.removed", p, factor, fid))
            if rng.random() < 0.6 and (again := lost + rng.randrange(600, 3 * DAY)) < stop:
                out.append(identity_event(again, "mfa.enrolled", p, factor, f"fct{rng.getrandbits(48):012x}"))
    return out


def _identity_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    for p in org.identities:
        f = p.lifecycle
        stop = _stop(f, w)
        t = joined = w.at(f.begins) + rng.randrange(3600)
        while t < stop:  # directory re-syncs
            out.append(identity_event(t, "identity.observed", p))
            t += rng.randrange(25 * DAY, 45 * DAY)
        if f.gone is not None and joined < stop:
            out.append(demo_record(stop, "identity.deactivated", OKTA_SOURCE, p.user_id, user_id=p.user_id))
        out.extend(_mfa_recs(p, rng, max(joined, w.at(f.mfa_from)), stop))
    return sorted(out, key=_time)


def _cycle(rng: random.Random, a: Asset, v: Vuln, det: int, stop: int, w: _Window, pace: float) -> list[Rec]:
    severity = v[1]
    out = [finding_event(det, "vulnerability.detected", a, v, severity)]
    # The backlog inherited at start burns down from then, and more of it is never fixed.
    never = NEVER_FIXED[severity] * (2.0 if det < w.start else 1.0)
    ttp = int(rng.lognormvariate(math.log(MEDIAN_FIX_DAYS[severity] * DAY * pace), 0.9)) + 3600
    fix = None if rng.random() < never else max(det, w.start) + ttp
    open_until, first = min(fix or stop, stop), max(det, w.start) + 3600
    for _ in range(rng.choice((0, 0, 1, 2))):  # scanners re-report open findings, now and then re-scored
        if open_until > first:
            severity = _UP[severity] if rng.random() < 0.05 else severity
            out.append(
                finding_event(rng.randrange(first, open_until), "vulnerability.detected", a, v, severity)
            )
    if fix is not None and fix < stop:
        out.append(finding_event(fix, "vulnerability.remediated", a, v))
        if rng.random() < 0.06 and (again := fix + rng.randrange(DAY, 30 * DAY)) < stop:  # a regression
            out.extend(_cycle(rng, a, v, again, stop, w, pace))
    return out


def _campaigns(catalog: Catalog, rng: random.Random, w: _Window) -> dict[str, tuple[Vuln, int]]:
    # One exploited critical per big platform lands on many hosts at once, and is patched fast.
    kev = {fam: [v for v in catalog[fam][0] if v[1] == "critical" and v[2]] for fam in ("windows", "linux")}
    return {fam: (vulns[0], w.at(rng.uniform(0.3, 0.8))) for fam, vulns in kev.items() if vulns}


def _vuln_recs(org: Org, seed: int, rng: random.Random, w: _Window, lookback: int) -> list[Rec]:
    out: list[Rec] = []
    catalog, months = vulnerability_catalog(seed, time.gmtime(w.end).tm_year), (w.end - w.start) / (30 * DAY)
    campaigns = _campaigns(catalog, rng, w)
    for a in org.assets:
        vulns, cum = catalog[a.os_family]
        stop, rate, seen = _stop(a.lifecycle, w), FINDINGS_PER_30D[a.kind], set()
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


def _cloud_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    accounts: dict[str, list[tuple[CloudResource, Control, str]]] = {}
    for check in cloud_checks(org):
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
                    checks[i] = (r, c, drifted_status(rng, status))
                    out.append(check_evaluated(t, r, c, checks[i][2]))
    return sorted(out, key=_time)


def _incident_recs(org: Org, rng: random.Random, w: _Window) -> list[Rec]:
    out: list[Rec] = []
    for _ in range(max(2, int((w.end - w.start) / DAY * rng.uniform(0.3, 0.5)))):
        opened = incident_opened(rng, rng.randrange(w.start, w.end), org)
        t, iid, severity = int(opened[0]), opened[3], str(opened[4]["severity"])
        out.append(opened)
        for stage in incident_stages(rng):
            t += stage_gap(rng, stage, severity)
            if t >= w.end:
                break
            escalated = {"severity": _UP[severity]} if stage == "acknowledged" and rng.random() < 0.1 else {}
            out.append(
                demo_record(t, f"incident.{stage}", PAGERDUTY_SOURCE, iid, incident_id=iid, **escalated)
            )
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
    w = _Window(math.ceil(as_utc(start).timestamp()), math.ceil(as_utc(end).timestamp()))
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
    stamped = ((int(r[0]), to_demo_event(r, _iso(int(r[0])), ids)) for r in heapq.merge(*streams, key=_time))
    return _disorder(stamped, rng("disorder"), w)


def _iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
